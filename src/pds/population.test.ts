// The synthetic population: the same seed gives the same patients, another seed others, and every
// NHS number is valid and unique.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { generatePatients } from './population.ts';

const lines = (seed: number, count: number) => Array.from(generatePatients({ count, seed }), (patient) => JSON.stringify(patient));

test('the same seed gives the same patients; another seed gives others', () => {
  const first = lines(7, 500);
  assert.deepEqual(lines(7, 500), first);
  const other = lines(8, 500);
  assert.equal(other.length, 500);
  assert.ok(other.filter((line, index) => line !== first[index]).length > 490, 'another seed changes nearly every patient');
});

test('100,000 patients: NHS numbers valid and unique, UK postcodes, dates in range, deaths, about 0.1% restricted and 0.1% merged into an earlier patient', () => {
  const numbers = new Set<string>();
  const families = new Set<string>();
  let restricted = 0;
  let deceased = 0;
  let merged = 0;
  const people = new Map<string, string>();
  for (const patient of generatePatients({ count: 100_000, seed: 1 })) {
    const nhsNumber = patient.identifier?.[0]?.value ?? '';
    assert.ok(isValidNhsNumber(nhsNumber), `${nhsNumber} is a valid NHS number`);
    assert.equal(patient.id, nhsNumber);
    numbers.add(nhsNumber);
    families.add(patient.name?.[0]?.family ?? '');
    const postcode = patient.address?.[0]?.postalCode ?? '';
    assert.match(postcode, /^[A-Z]{1,2}\d{1,2} \d[ABD-HJLNP-UW-Z]{2}$/);
    assert.match(patient.generalPractitioner?.[0]?.identifier?.value ?? '', /^[A-Z]\d{5}$/);
    const birthDate = patient.birthDate ?? '';
    assert.ok(birthDate >= '1924-12-01' && birthDate <= '2025-01-01', `birth date ${birthDate} within 100 years`);
    if (patient.deceasedDateTime) {
      deceased++;
      assert.ok(patient.deceasedDateTime.slice(0, 10) >= birthDate, 'no death before birth');
    }
    if (patient.meta?.security?.some((label) => label.code === 'R')) restricted++;
    const person = JSON.stringify([patient.name, patient.gender, patient.birthDate, patient.deceasedDateTime ?? null, patient.meta ?? null]);
    const survivor = patient.link?.find((link) => link.type === 'replaced-by')?.other?.identifier?.value;
    if (survivor !== undefined) {
      merged++;
      assert.equal(people.get(survivor), person, 'a merged record is the same person as an earlier patient, its survivor');
    } else {
      people.set(nhsNumber, person);
    }
  }
  assert.equal(numbers.size, 100_000);
  assert.ok(families.size >= 100, 'a spread of family names');
  assert.ok(restricted > 50 && restricted < 150, `${restricted} restricted of 100,000`);
  assert.ok(deceased > 500 && deceased < 10_000, `${deceased} deceased of 100,000`);
  assert.ok(merged > 50 && merged < 150, `${merged} merged of 100,000`);
});

test('the demo GP practice A83008 has patients', () => {
  const practices = Array.from(generatePatients({ count: 20_000, seed: 3 }), (patient) => patient.generalPractitioner?.[0]?.identifier?.value);
  assert.ok(practices.includes('A83008'));
});

test('patients are registered at the practices given (e.g. the directory\'s GP practices), spread over them all', () => {
  const practices = ['A83008', 'B86016', 'Y12345'];
  const registered = Array.from(generatePatients({ count: 3000, seed: 4, practices }), (patient) => patient.generalPractitioner?.[0]?.identifier?.value ?? '');
  assert.deepEqual([...new Set(registered)].sort(), practices);
});
