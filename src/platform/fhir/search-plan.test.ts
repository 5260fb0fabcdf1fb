// Every kind of search clause is served by an index: with 50,000 resources loaded, the plan of
// each query the store builds has no sequential scan (../shared/style.md habit 12).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createTestDatabase } from '../../../test/support/database.ts';
import { recordQueryPlans } from '../../../test/support/query-plans.ts';
import { readResource, searchResources, type FhirStore } from './resources.ts';
import { TEST_PATIENT } from './test-patient.ts';

const ROWS = 50_000;

const { db, url } = await createTestDatabase();
// Synthetic rows of the shape the store writes, made in SQL: fast, and only the plans matter here.
await db`insert into fhir_resource select 'Patient', 'p' || n, 1, now() - n * interval '1 minute', false, '{"resourceType":"Patient"}' from generate_series(1, ${ROWS}) n`;
await db`insert into fhir_token select 'Patient', 'p' || n, 'identifier', 'https://fhir.nhs.uk/Id/nhs-number', (9000000000 + n)::text from generate_series(1, ${ROWS}) n`;
// Names as varied as real ones (distinct trigrams), so the trigram index is worth using.
await db`insert into fhir_string select 'Patient', 'p' || n, 'family', md5(n::text), upper(md5(n::text)) from generate_series(1, ${ROWS}) n`;
await db`insert into fhir_date select 'Patient', 'p' || n, 'birthdate', d, d + interval '1 day' - interval '1 millisecond'
         from generate_series(1, ${ROWS}) n, lateral (select timestamptz '1920-01-01' + n * interval '1 day' as d) day`;
await db`insert into fhir_reference select 'Patient', 'p' || n, 'general-practitioner', 'Organization/G' || (n % 5000) from generate_series(1, ${ROWS}) n`;
await db`analyze`;

const { connection: recording, planOf } = recordQueryPlans(url, db);
const fhir: FhirStore = { db: recording, resources: new Map([['Patient', TEST_PATIENT]]) };

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

const SEARCHES: Record<string, Record<string, string>> = {
  'token': { identifier: 'https://fhir.nhs.uk/Id/nhs-number|9000012345' },
  'token without system': { identifier: '9000012345' },
  'string prefix': { family: md5('1234').slice(0, 8) },
  'string exact': { 'family:exact': md5('1234').toUpperCase() },
  'string contains': { 'family:contains': md5('4321').slice(10, 18) },
  'date eq': { birthdate: '1950-06-01' },
  'date range': { birthdate: 'ge1950-06-01' , _count: '10' },
  'reference': { 'general-practitioner': 'Organization/G42' },
  '_id': { _id: 'p777' },
  'sorted by a parameter': { 'general-practitioner': 'Organization/G42', _sort: '-birthdate,family' },
  // With no filter, the page comes from a walk of the sort parameter's index, not the whole type.
  'unfiltered, sorted by a string': { _sort: 'family' },
  'unfiltered, sorted by a date descending': { _sort: '-birthdate', _count: '10', _offset: '100' },
  'unfiltered, sorted by a token': { _sort: 'identifier' },
  'unfiltered, sorted by two parameters': { _sort: 'family,-birthdate' },
  'unfiltered': {},
  '_lastUpdated': { _lastUpdated: `le${new Date(Date.now() - 40_000 * 60_000).toISOString().slice(0, 10)}`, _count: '10' },
};

for (const [kind, query] of Object.entries(SEARCHES)) {
  test(`a ${kind} search uses an index, not a sequential scan`, async () => {
    const plan = await planOf(() => searchResources(fhir, 'Patient', query));
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  });
}

test('a read by id uses the primary key', async () => {
  const plan = await planOf(() => readResource(fhir, 'Patient', 'p4242'));
  assert.match(plan, /Index Scan using fhir_resource_pkey/, plan);
});

