// A deterministic synthetic population for PDS: realistic-looking UK patients, one at a time, the
// same for the same seed, with NHS numbers that are valid and unique, for loading tests and benches.
// Deaths, restricted patients and merges (a duplicate record replaced by its survivor) are in it
// at roughly their national rates.
import type { Patient } from '@medplum/fhirtypes';
import { NHS_NUMBER_SYSTEM, nhsNumberCheckDigit } from '../platform/identifiers/nhs-number.ts';
import { ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';
import { confidentialityLabel, replacedBy } from './bulk.ts';

/** The first nine digits of the first patient's NHS number by default: 91… keeps clear of the sandbox's 9000000xxx. */
export const FIRST_NHS_PREFIX = 910_000_000;
/** Birth dates and deaths are relative to this day, not today, so a seed gives the same population any day. */
const REFERENCE_DAY = Date.UTC(2025, 0, 1);
const DAY_MS = 86_400_000;
const RESTRICTED_SHARE = 0.001;
/**
 * Records that are a duplicate registration of an earlier patient, merged into it: the duplicate
 * keeps its own NHS number, with a `replaced-by` link to the survivor (bulk.ts loads it as superseded).
 */
const MERGED_SHARE = 0.001;

// Family names, most common first; weights follow rank (a Zipf curve), roughly as in the UK.
const FAMILY_NAMES = `Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright
  Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris Moore
  Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell
  Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams
  Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes
  Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey O'Brien Nowak Okafor`.split(/\s+/);
const FEMALE_NAMES = `Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Florence Emily Ella Poppy Evie
  Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice Harper Matilda Ruby Emilia Maya Isabelle Millie Esme Eva
  Bonnie Arabella Luna Hannah Margaret Patricia Susan Elizabeth Sarah Karen Helen Julie Linda Jennifer Deborah Tracey
  Michelle Nicola Claire Joanne Amanda Lisa Rachel Emma Laura Rebecca Jessica Katherine Catherine Victoria Louise Lucy
  Jane Janet Christine Carol Pauline Barbara Jean Dorothy Joan Mary Anne Gillian Valerie Sandra Wendy Angela Alison Fiona
  Kirsty Gemma Hayley Zoe Natalie Aisha Fatima Maryam Priya Anika Zara Chloe Megan Abigail Niamh Siobhan Bethan`.split(/\s+/);
const MALE_NAMES = `Muhammad Noah Oliver George Arthur Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie Theo Alfie
  Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy Alexander Luca Edward James Joshua Albie Elijah Max Mohammed
  Reggie Hugo Louie Jude David John Michael Paul Andrew Peter Mark Richard Robert Stephen Christopher Ian Anthony Gary
  Kevin Steven Simon Martin Daniel Matthew Jonathan Neil Philip Graham Colin Keith Brian Kenneth Ronald Derek Trevor Roger
  Barry Dennis Raymond Geoffrey Alan Malcolm Stuart Craig Darren Lee Wayne Scott Ryan Liam Nathan Adam Benjamin Samuel
  Ahmed Omar Ravi Arjun Rhys Dylan Callum Connor Sean Ewan`.split(/\s+/);
const STREETS = `High Church Station Victoria Park Mill School Queen King Manor Green Chapel York London Grange Windsor
  Albert New Main Springfield Highfield Meadow Orchard Oak Elm Ash Beech Cedar Willow Rose Hawthorn Kingsway Broad West
  North South East Bridge Castle Market Farm`.split(/\s+/);
const STREET_KINDS = ['Road', 'Street', 'Lane', 'Avenue', 'Close', 'Drive', 'Way', 'Crescent', 'Gardens', 'Terrace', 'Place', 'Court'];

/** Postcode areas with a town and their number of districts; weights are rough populations. */
const AREAS: { area: string; town: string; districts: number; weight: number }[] = [
  { area: 'B', town: 'Birmingham', districts: 99, weight: 8 }, { area: 'M', town: 'Manchester', districts: 90, weight: 7 },
  { area: 'LS', town: 'Leeds', districts: 29, weight: 5 }, { area: 'L', town: 'Liverpool', districts: 40, weight: 5 },
  { area: 'S', town: 'Sheffield', districts: 75, weight: 5 }, { area: 'BS', town: 'Bristol', districts: 49, weight: 4 },
  { area: 'NE', town: 'Newcastle upon Tyne', districts: 71, weight: 4 }, { area: 'NG', town: 'Nottingham', districts: 34, weight: 4 },
  { area: 'LE', town: 'Leicester', districts: 19, weight: 3 }, { area: 'CV', town: 'Coventry', districts: 47, weight: 3 },
  { area: 'EX', town: 'Exeter', districts: 39, weight: 2 }, { area: 'PL', town: 'Plymouth', districts: 35, weight: 2 },
  { area: 'BD', town: 'Bradford', districts: 24, weight: 3 }, { area: 'HU', town: 'Hull', districts: 20, weight: 2 },
  { area: 'SO', town: 'Southampton', districts: 53, weight: 3 }, { area: 'PO', town: 'Portsmouth', districts: 41, weight: 3 },
  { area: 'NR', town: 'Norwich', districts: 35, weight: 2 }, { area: 'CB', town: 'Cambridge', districts: 25, weight: 2 },
  { area: 'OX', town: 'Oxford', districts: 49, weight: 2 }, { area: 'YO', town: 'York', districts: 62, weight: 2 },
  { area: 'CF', town: 'Cardiff', districts: 83, weight: 3 }, { area: 'SA', town: 'Swansea', districts: 73, weight: 2 },
  { area: 'TR', town: 'Truro', districts: 27, weight: 1 }, { area: 'CA', town: 'Carlisle', districts: 28, weight: 1 },
  { area: 'DN', town: 'Doncaster', districts: 40, weight: 2 }, { area: 'ST', town: 'Stoke-on-Trent', districts: 21, weight: 2 },
  { area: 'DE', town: 'Derby', districts: 75, weight: 2 }, { area: 'BN', town: 'Brighton', districts: 45, weight: 3 },
  { area: 'CT', town: 'Canterbury', districts: 21, weight: 2 }, { area: 'SE', town: 'London', districts: 28, weight: 6 },
  { area: 'N', town: 'London', districts: 22, weight: 5 }, { area: 'E', town: 'London', districts: 18, weight: 5 },
];
/** Letters an inward code's last two may be (the Royal Mail leaves out C, I, K, M, O and V). */
const INWARD_LETTERS = [...'ABDEFGHJLNPQRSTUWXYZ'];
const PRACTICES_PER_AREA = 20;
/** The first letter of a GP practice's ODS code, by area, so that practices look regional. */
const PRACTICE_LETTERS = 'ABCDEFGHJKLMNPY';
const DEMO_PRACTICE = 'A83008';

/**
 * `firstNineDigits`: where the NHS numbers start (the first nine digits), so several populations can
 * share a database. `practices`: the ODS codes of the GP practices to register patients at (e.g.
 * the directory's); without them, regional codes made up for the purpose, with the demo practice.
 */
export type PopulationOptions = { count: number; seed: number; firstNineDigits?: number; practices?: readonly string[] };

type Random = () => number;

/** mulberry32: a small, fast 32-bit generator; plenty for test data, and the same sequence for the same seed. */
function randomFrom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Picks by weight with a binary search over the running totals. */
function weighted<T>(items: readonly T[], weightOf: (item: T, index: number) => number): (random: Random) => T {
  const totals: number[] = [];
  let total = 0;
  items.forEach((item, index) => totals.push((total += weightOf(item, index))));
  return (random) => {
    const target = random() * total;
    let low = 0;
    let high = totals.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((totals[middle] ?? 0) <= target) low = middle + 1;
      else high = middle;
    }
    return items[low] as T;
  };
}

const byRank = (_item: unknown, rank: number) => 1 / (rank + 1) ** 0.9;
const pickFamily = weighted(FAMILY_NAMES, byRank);
const pickFemale = weighted(FEMALE_NAMES, byRank);
const pickMale = weighted(MALE_NAMES, byRank);
const pickArea = weighted(AREAS, (area) => area.weight);
/** Ages: about even to 70, then fewer each decade to 100. */
const pickAgeBand = weighted([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], (_band, index) => [12, 12, 13, 13, 13, 13, 11, 8, 4, 1][index] ?? 0);

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const digits = (random: Random, count: number) => Array.from({ length: count }, () => Math.floor(random() * 10)).join('');
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** NHS numbers in sequence, skipping the nine-digit starts that no check digit completes. */
function* nhsNumbers(firstNineDigits: number): Generator<string> {
  for (let prefix = firstNineDigits; prefix <= 999_999_999; prefix++) {
    const check = nhsNumberCheckDigit(String(prefix));
    if (check !== undefined) yield `${prefix}${check}`;
  }
}

function postcode(random: Random, area: (typeof AREAS)[number]): string {
  const district = 1 + Math.floor(random() * area.districts);
  return `${area.area}${district} ${Math.floor(random() * 10)}${pick(random, INWARD_LETTERS)}${pick(random, INWARD_LETTERS)}`;
}

function practice(random: Random, areaIndex: number): string {
  const number = Math.floor(random() * PRACTICES_PER_AREA);
  if (AREAS[areaIndex]?.area === 'LS' && number === 0) return DEMO_PRACTICE;
  const letter = PRACTICE_LETTERS[areaIndex % PRACTICE_LETTERS.length] ?? 'Y';
  return `${letter}${81001 + Math.floor(areaIndex / PRACTICE_LETTERS.length) * 100 + number}`;
}

function patient(random: Random, nhsNumber: string, practices: readonly string[] | undefined): Patient {
  const roll = random();
  const gender = roll < 0.49 ? 'male' : roll < 0.998 ? 'female' : roll < 0.999 ? 'other' : 'unknown';
  const feminine = gender === 'female' || (gender !== 'male' && random() < 0.5);
  const given = feminine ? pickFemale(random) : pickMale(random);
  const family = pickFamily(random);
  const ageDays = Math.floor((pickAgeBand(random) + random() * 10) * 365.25);
  const birth = REFERENCE_DAY - ageDays * DAY_MS;
  const age = ageDays / 365.25;
  // Deaths are likelier the older the patient: PDS keeps the records of the dead.
  const deathChance = age > 85 ? 0.2 : age > 70 ? 0.05 : 0.003;
  const deceased = random() < deathChance ? new Date(birth + Math.floor(random() * ageDays) * DAY_MS + Math.floor(random() * DAY_MS)) : undefined;
  const title = age < 16 ? undefined : feminine ? pick(random, ['Mrs', 'Ms', 'Miss', 'Mrs', 'Dr']) : pick(random, ['Mr', 'Mr', 'Mr', 'Dr']);
  const areaIndex = AREAS.indexOf(pickArea(random));
  const area = AREAS[areaIndex] ?? AREAS[0];
  if (!area) throw new Error('no postcode areas');
  const line = [`${1 + Math.floor(random() * 200)} ${pick(random, STREETS)} ${pick(random, STREET_KINDS)}`, area.town];
  const telecom: NonNullable<Patient['telecom']> = [];
  // Phone numbers come from Ofcom's ranges reserved for drama, e-mail from domains reserved for examples.
  if (random() < 0.6) telecom.push({ id: 'telecom-1', system: 'phone', value: random() < 0.7 ? `07700900${digits(random, 3)}` : `01632960${digits(random, 3)}`, use: random() < 0.7 ? 'mobile' : 'home' });
  if (random() < 0.3) telecom.push({ id: `telecom-${telecom.length + 1}`, system: 'email', value: `${given}.${family}${digits(random, 3)}@example.com`.toLowerCase().replace(/'/g, ''), use: 'home' });
  const restricted = random() < RESTRICTED_SHARE;
  return {
    resourceType: 'Patient',
    id: nhsNumber,
    ...(restricted ? { meta: { security: [confidentialityLabel(true)] } } : {}),
    identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber }],
    name: [{ id: 'name-1', use: 'usual', family, given: [given], ...(title ? { prefix: [title] } : {}) }],
    gender,
    birthDate: isoDay(birth),
    ...(deceased ? { deceasedDateTime: deceased.toISOString().replace('.000Z', '+00:00') } : {}),
    address: [{ id: 'address-1', use: 'home', line, postalCode: postcode(random, area) }],
    ...(telecom.length ? { telecom } : {}),
    generalPractitioner: [{ id: 'gp-1', type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: practices?.length ? pick(random, practices) : practice(random, areaIndex) } }],
  };
}

/** Yields `count` patients, one at a time (constant memory); the same seed gives the same patients. */
export function* generatePatients(options: PopulationOptions): Generator<Patient> {
  const random = randomFrom(options.seed);
  const first = options.firstNineDigits ?? FIRST_NHS_PREFIX;
  if (!Number.isInteger(first) || first < 100_000_000 || first > 999_999_999) throw new Error(`firstNineDigits must be nine digits, not ${first}`);
  const numbers = nhsNumbers(first);
  let survivor: Patient | undefined;
  for (let index = 0; index < options.count; index++) {
    const next = numbers.next();
    if (next.done) throw new Error('the population is larger than the NHS numbers this generator can give');
    const merged = random() < MERGED_SHARE;
    const fresh = patient(random, next.value, options.practices);
    if (merged && survivor) {
      yield duplicateOf(survivor, fresh);
    } else {
      survivor = fresh;
      yield fresh;
    }
  }
}

/**
 * A second record of the survivor's person, registered under another NHS number at an earlier
 * address and practice, then merged: the same name, gender, birth, death and restriction, and a
 * `replaced-by` link to the survivor.
 */
function duplicateOf(survivor: Patient, fresh: Patient): Patient {
  const { resourceType: _type, id: _id, deceasedDateTime: _death, meta: _meta, ...rest } = fresh;
  return {
    resourceType: 'Patient',
    id: fresh.id ?? '',
    ...(survivor.meta ? { meta: survivor.meta } : {}),
    ...rest,
    name: survivor.name ?? [],
    gender: survivor.gender ?? 'unknown',
    birthDate: survivor.birthDate ?? '',
    ...(survivor.deceasedDateTime ? { deceasedDateTime: survivor.deceasedDateTime } : {}),
    link: [replacedBy(survivor.id ?? '')],
  };
}
