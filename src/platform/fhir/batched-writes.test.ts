// Creates and reads outside a transaction are gathered into one statement per turn of the event
// loop (src/platform/db/coalesce.ts): each must still get its own answer, and a create the database
// refuses must fail alone, against a real PostgreSQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../../test/support/database.ts';
import { DIRECTORY_RESOURCES } from '../../directory/resources.ts';
import { createResource, readResource, type FhirStore } from './resources.ts';

const { db } = await createTestDatabase();
const fhir: FhirStore = { db, resources: new Map(DIRECTORY_RESOURCES.map((definition) => [definition.resourceType, definition])) };
const organisation = (name: string) => ({ resourceType: 'Organization', name });

test('creates made together are all committed, each under its own id with its own content', async () => {
  const created = await Promise.all(Array.from({ length: 40 }, (_, n) => createResource(fhir, 'Organization', organisation(`Together ${n}`))));
  const ids = created.map((version) => version.id);
  // Rows written by one transaction share its id (xmin).
  const [written] = await db<{ transactions: number }[]>`select count(distinct xmin::text)::int as transactions from fhir_resource where id = any(${ids}::text[])`;
  assert.equal(written?.transactions, 1, 'one transaction for the 40 creates, not one each');
  assert.equal(new Set(created.map((version) => version.id)).size, 40);
  for (const [n, version] of created.entries()) {
    const read = await readResource(fhir, 'Organization', version.id);
    assert.equal((JSON.parse(read.json) as { name: string }).name, `Together ${n}`);
  }
  const [indexed] = await db<{ count: number }[]>`select count(distinct id)::int as count from fhir_string where id = any(${ids}::text[]) and param = 'name'`;
  assert.equal(indexed?.count, 40, 'every create has its search index rows');
});

test('a create the database refuses (an id already taken) fails alone; the others made with it are committed', async () => {
  const taken = await createResource(fhir, 'Organization', organisation('First holder'));
  const results = await Promise.allSettled([
    createResource(fhir, 'Organization', organisation('Same id again'), db, taken.id),
    ...Array.from({ length: 5 }, (_, n) => createResource(fhir, 'Organization', organisation(`Beside it ${n}`))),
  ]);
  assert.equal(results[0]?.status, 'rejected');
  for (const result of results.slice(1)) {
    assert.equal(result.status, 'fulfilled');
    if (result.status === 'fulfilled') assert.match((await readResource(fhir, 'Organization', result.value.id)).json, /Beside it/);
  }
  assert.match((await readResource(fhir, 'Organization', taken.id)).json, /First holder/, 'the first holder is untouched');
});
