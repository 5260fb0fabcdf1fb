// A search with no filter, sorted by one parameter, is answered from a walk of that parameter's
// index (search-sql.ts, walkedPage). Its pages must be exactly those of the whole sorted list:
// resources with several values sort by their lowest (ascending) or highest (descending), deleted
// ones are left out, and those without a value come last, ties broken by id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { createTestDatabase } from '../../../test/support/database.ts';
import { createResource, deleteResource, searchResources, type FhirStore } from './resources.ts';
import { TEST_PATIENT } from './test-patient.ts';

const { db } = await createTestDatabase();
const fhir: FhirStore = { db, resources: new Map([['Patient', TEST_PATIENT]]) };

/** Family names drawn from a few, so that ties are common; some patients have two names, some none. */
const FAMILIES = ['adams', 'baker', 'clark', 'davis', 'evans', 'fox'];
const expected = new Map<string, string[]>();
let seed = 7;
const next = (below: number) => (seed = (seed * 48271) % 2147483647) % below;
for (let n = 0; n < 90; n++) {
  const families = n % 10 === 0 ? [] : Array.from({ length: n % 3 === 0 ? 2 : 1 }, () => FAMILIES[next(FAMILIES.length)] ?? 'fox');
  const patient: Patient = { resourceType: 'Patient', ...(families.length ? { name: families.map((family) => ({ family })) } : {}) };
  const created = await createResource(fhir, 'Patient', patient);
  if (n % 11 === 0) await deleteResource(fhir, 'Patient', created.id);
  else expected.set(created.id, families);
}

/** The whole list as FHIR R4 sorts it: by the lowest value ascending, the highest descending, no value last, then by id. */
function sortedIds(descending: boolean): string[] {
  const keyOf = (families: string[]) => (families.length === 0 ? undefined : descending ? [...families].sort().at(-1) : [...families].sort()[0]);
  return [...expected.entries()].sort(([idA, a], [idB, b]) => {
    const [keyA, keyB] = [keyOf(a), keyOf(b)];
    if (keyA !== keyB) {
      if (keyA === undefined) return 1;
      if (keyB === undefined) return -1;
      return (keyA < keyB ? -1 : 1) * (descending ? -1 : 1);
    }
    return idA < idB ? -1 : idA > idB ? 1 : 0;
  }).map(([id]) => id);
}

for (const descending of [false, true]) {
  test(`every page sorted by family ${descending ? 'descending' : 'ascending'} is that part of the whole sorted list, to the last page`, async () => {
    const all = sortedIds(descending);
    for (const count of [1, 7, 25]) {
      const pages: string[] = [];
      for (let offset = 0; offset < all.length + count; offset += count) {
        const { result } = await searchResources(fhir, 'Patient', { _sort: `${descending ? '-' : ''}family`, _count: String(count), _offset: String(offset) });
        pages.push(...result.matches.map((match) => match.id));
        assert.equal(result.hasMore, offset + count < all.length, `hasMore at offset ${offset}, count ${count}`);
      }
      assert.deepEqual(pages, all, `pages of ${count}`);
    }
  });
}
