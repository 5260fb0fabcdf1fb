// The search framework on the store's domain functions (no HTTP): every parameter type, modifier
// and date prefix, paging and sorting, against a resource type declared only for this test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { createTestDatabase } from '../../../test/support/database.ts';
import { createResource, deleteResource, searchResources, type FhirStore } from './resources.ts';
import { TEST_PATIENT } from './test-patient.ts';
import { SpineError } from '../errors.ts';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

const { db } = await createTestDatabase();
const fhir: FhirStore = { db, resources: new Map([['Patient', TEST_PATIENT]]) };
const ids = new Map<string, string>();

const patient = (key: string, family: string, given: string, birthDate: string, gender: NonNullable<Patient['gender']>, gp: string): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: NHS, value: key }],
  name: [{ family, given: [given] }],
  gender,
  birthDate,
  generalPractitioner: [{ reference: `Organization/${gp}` }],
});

{
  const people = [
    patient('9000000009', 'Smith', 'Jane', '1980-05-06', 'female', 'A83008'),
    patient('9000000017', 'Smyth', 'John', '1980-05-07', 'male', 'A83008'),
    patient('9000000025', 'Smithson', 'Ann', '1975-01-01', 'female', 'B82001'),
    patient('9000000033', 'Müller', 'Zoë', '2001-12-31', 'other', 'B82001'),
    patient('9000000041', 'Jones', 'Mary-Ann', '1980-06', 'female', 'C81001'),
  ];
  for (const person of people) {
    const stored = await createResource(fhir, 'Patient', person);
    ids.set(person.identifier?.[0]?.value ?? '', stored.id);
  }
}

async function found(query: Record<string, string | string[]>): Promise<string[]> {
  const { result } = await searchResources(fhir, 'Patient', query);
  return result.matches.map((match) => (JSON.parse(match.json) as Patient).identifier?.[0]?.value ?? '').sort();
}

test('token: code, system|code, |code and system| forms', async () => {
  assert.deepEqual(await found({ identifier: '9000000009' }), ['9000000009']);
  assert.deepEqual(await found({ identifier: `${NHS}|9000000017` }), ['9000000017']);
  assert.deepEqual(await found({ identifier: 'https://other.example|9000000017' }), []);
  assert.deepEqual(await found({ gender: '|female' }), ['9000000009', '9000000025', '9000000041'], 'gender has no system');
  assert.equal((await found({ identifier: `${NHS}|` })).length, 5);
  assert.deepEqual(await found({ identifier: '9000000009,9000000033' }), ['9000000009', '9000000033'], 'comma is OR');
});

test('string: starts with by default, case and accent insensitive; :exact and :contains', async () => {
  assert.deepEqual(await found({ family: 'smith' }), ['9000000009', '9000000025']);
  assert.deepEqual(await found({ family: 'MULLER' }), ['9000000033']);
  assert.deepEqual(await found({ 'family:exact': 'Smith' }), ['9000000009']);
  assert.deepEqual(await found({ 'family:exact': 'smith' }), []);
  assert.deepEqual(await found({ 'family:contains': 'ith' }), ['9000000009', '9000000025']);
  assert.deepEqual(await found({ name: 'zoe' }), ['9000000033'], 'name covers given names');
  assert.deepEqual(await found({ 'family:contains': '%' }), [], 'LIKE wildcards are matched literally');
});

test('date: eq, ne, gt, lt, ge, le over the range a date covers', async () => {
  assert.deepEqual(await found({ birthdate: '1980-05-06' }), ['9000000009']);
  assert.deepEqual(await found({ birthdate: 'eq1980-05' }), ['9000000009', '9000000017']);
  assert.deepEqual(await found({ birthdate: 'eq1980' }), ['9000000009', '9000000017', '9000000041']);
  assert.deepEqual(await found({ birthdate: 'gt1980-05-06' }), ['9000000017', '9000000033', '9000000041']);
  assert.deepEqual(await found({ birthdate: 'lt1980-05-06' }), ['9000000025']);
  assert.deepEqual(await found({ birthdate: 'ge2001-12-31' }), ['9000000033']);
  assert.deepEqual(await found({ birthdate: 'le1975-01-01' }), ['9000000025']);
  assert.deepEqual(await found({ birthdate: 'ne1980' }), ['9000000025', '9000000033']);
  assert.deepEqual(await found({ birthdate: ['ge1980-01-01', 'le1980-05-31'] }), ['9000000009', '9000000017'], 'repeated is AND: a range');
});

test('reference and _id; several parameters are ANDed', async () => {
  assert.deepEqual(await found({ 'general-practitioner': 'Organization/B82001' }), ['9000000025', '9000000033']);
  assert.deepEqual(await found({ 'general-practitioner': 'Organization/B82001', gender: 'female' }), ['9000000025']);
  assert.deepEqual(await found({ _id: ids.get('9000000041') ?? '' }), ['9000000041']);
});

test('_lastUpdated, _count, _offset, _sort and _total', async () => {
  assert.equal((await found({ _lastUpdated: `ge${new Date(Date.now() - 3_600_000).toISOString().slice(0, 10)}` })).length, 5);
  assert.deepEqual(await found({ _lastUpdated: 'lt2000-01-01' }), []);
  const first = await searchResources(fhir, 'Patient', { _count: '2', _sort: '_lastUpdated' });
  assert.equal(first.result.matches.length, 2);
  assert.equal(first.result.hasMore, true);
  const last = await searchResources(fhir, 'Patient', { _count: '2', _offset: '4', _sort: '_lastUpdated', _total: 'accurate' });
  assert.equal(last.result.matches.length, 1);
  assert.equal(last.result.hasMore, false);
  assert.equal(last.result.total, 5);
  const all = [...first.result.matches, ...(await searchResources(fhir, 'Patient', { _count: '2', _offset: '2', _sort: '_lastUpdated' })).result.matches, ...last.result.matches];
  assert.equal(new Set(all.map((match) => match.id)).size, 5, 'pages neither repeat nor skip');
});

test('_sort by a declared parameter: strings, dates, tokens and references, either way, several keys, missing values last', async () => {
  const inOrder = async (query: Record<string, string>) =>
    (await searchResources(fhir, 'Patient', query)).result.matches.map((match) => (JSON.parse(match.json) as Patient).identifier?.[0]?.value);
  assert.deepEqual(await inOrder({ _sort: 'family' }), ['9000000041', '9000000033', '9000000009', '9000000025', '9000000017'], 'Jones, Müller (as muller), Smith, Smithson, Smyth');
  assert.deepEqual(await inOrder({ _sort: '-family' }), ['9000000017', '9000000025', '9000000009', '9000000033', '9000000041']);
  assert.deepEqual(await inOrder({ _sort: 'birthdate' }), ['9000000025', '9000000009', '9000000017', '9000000041', '9000000033'], '1980-06 starts after 1980-05-07');
  assert.deepEqual(await inOrder({ _sort: '-birthdate', gender: 'female' }), ['9000000041', '9000000009', '9000000025'], '1980-06 ends last of the women');
  assert.deepEqual(await inOrder({ _sort: 'general-practitioner,-family' }), ['9000000017', '9000000009', '9000000025', '9000000033', '9000000041']);
  assert.deepEqual((await inOrder({ _sort: 'gender,family', _count: '2' })), ['9000000041', '9000000009'], 'female first, then by family, one page');
  const unnamed = await createResource(fhir, 'Patient', { resourceType: 'Patient', identifier: [{ system: NHS, value: '9000000068' }] });
  try {
    assert.equal((await inOrder({ _sort: 'family' })).at(-1), '9000000068', 'a patient with no family name comes last');
    assert.equal((await inOrder({ _sort: '-family' })).at(-1), '9000000068', 'either way');
  } finally {
    await deleteResource(fhir, 'Patient', unnamed.id);
  }
});

test('bad searches are refused with INVALID_SEARCH_DATA, never ignored', async () => {
  const refused = [
    { colour: 'red' },
    { 'family:sounds-like': 'smith' },
    { birthdate: 'sa1980' },
    { birthdate: '1980-13-01' },
    { _count: '0' },
    { _count: '1001' },
    { _sort: 'colour' },
    { _sort: '-' },
    { 'general-practitioner': 'A83008' },
    { family: '' },
  ];
  for (const query of refused) {
    await assert.rejects(searchResources(fhir, 'Patient', query), (error: unknown) => {
      assert.ok(error instanceof SpineError, JSON.stringify(query));
      assert.equal(error.status, 400, JSON.stringify(query));
      assert.equal(error.spineCode, 'INVALID_SEARCH_DATA', JSON.stringify(query));
      return true;
    });
  }
});
