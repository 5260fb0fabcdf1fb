// A search with no filter, sorted first by a parameter, is answered from a walk of that parameter's
// index (search-sql.ts, walkedPage). Its pages must be exactly those of the whole sorted list:
// resources with several values sort by their lowest (ascending) or highest (descending), deleted
// ones are left out, and those without a value come last; ties go to the next key, then the id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { createTestDatabase } from '../../../test/support/database.ts';
import { createResource, deleteResource, searchResources, type FhirStore } from './resources.ts';
import { TEST_PATIENT } from './test-patient.ts';

const { db } = await createTestDatabase();
const fhir: FhirStore = { db, resources: new Map([['Patient', TEST_PATIENT]]) };

/** Family names drawn from a few, so that ties are common; some patients have two names, some none. */
const FAMILIES = ['adams', 'baker', 'clark'];
type Expected = { families: string[]; birthDate: string };
const expected = new Map<string, Expected>();
let seed = 7;
const next = (below: number) => (seed = (seed * 48271) % 2147483647) % below;
for (let n = 0; n < 90; n++) {
  const families = n % 10 === 0 ? [] : Array.from({ length: n % 3 === 0 ? 2 : 1 }, () => FAMILIES[next(FAMILIES.length)] ?? 'fox');
  const birthDate = `19${String(next(100)).padStart(2, '0')}-01-01`;
  const patient: Patient = { resourceType: 'Patient', birthDate, ...(families.length ? { name: families.map((family) => ({ family })) } : {}) };
  const created = await createResource(fhir, 'Patient', patient);
  if (n % 11 === 0) await deleteResource(fhir, 'Patient', created.id);
  else expected.set(created.id, { families, birthDate });
}

/** The whole list as FHIR R4 sorts it: by the lowest value ascending, the highest descending, no value last; then by birth date descending when asked; then by id. */
function sortedIds(descending: boolean, thenByBirthDate: boolean): string[] {
  const keyOf = (families: string[]) => (families.length === 0 ? undefined : descending ? [...families].sort().at(-1) : [...families].sort()[0]);
  const compare = (a: string | undefined, b: string | undefined, down: boolean) => {
    if (a === b) return 0;
    if (a === undefined) return 1;
    if (b === undefined) return -1;
    return (a < b ? -1 : 1) * (down ? -1 : 1);
  };
  return [...expected.entries()].sort(([idA, a], [idB, b]) =>
    compare(keyOf(a.families), keyOf(b.families), descending)
    || (thenByBirthDate ? compare(a.birthDate, b.birthDate, true) : 0)
    || compare(idA, idB, false)).map(([id]) => id);
}

async function allPages(sort: string, count: number, length: number): Promise<string[]> {
  const pages: string[] = [];
  for (let offset = 0; offset < length + count; offset += count) {
    const { result } = await searchResources(fhir, 'Patient', { _sort: sort, _count: String(count), _offset: String(offset) });
    pages.push(...result.matches.map((match) => match.id));
    assert.equal(result.hasMore, offset + count < length, `${sort}: hasMore at offset ${offset}, count ${count}`);
  }
  return pages;
}

for (const descending of [false, true]) {
  test(`every page sorted by family ${descending ? 'descending' : 'ascending'} is that part of the whole sorted list, to the last page`, async () => {
    const all = sortedIds(descending, false);
    for (const count of [1, 7, 25]) assert.deepEqual(await allPages(`${descending ? '-' : ''}family`, count, all.length), all, `pages of ${count}`);
  });
}

test('every page sorted by family, then birth date descending, is that part of the whole sorted list, ties included', async () => {
  const all = sortedIds(false, true);
  for (const count of [1, 7, 25]) assert.deepEqual(await allPages('family,-birthdate', count, all.length), all, `pages of ${count}`);
});
