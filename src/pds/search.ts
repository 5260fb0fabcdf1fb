// The PDS trace: `GET /Patient?...` with the parameters, rules and ranking of the PDS FHIR API
// (../shared/specs/README.md section 1, "Search parameters" and "Rules").
//
// Ranking: each supplied key scores 1 for an exact match, 0.75 for a wildcard or nickname match,
// 0.6 for a phonetic (Soundex) match, 0.5 for a transposed name or a close date of birth, 0 else;
// the weights are family 0.35, given 0.25, birth date 0.25, postcode 0.1, gender 0.05, and the
// score is the weighted mean over the keys the search supplied. 1.0 means every key matched exactly.
// In a history (or fuzzy) search a name or postcode the record held before scores 0.9 of what the
// same match on the current one would, so a patient found by current data ranks first.
import type { Patient } from '@medplum/fhirtypes';
import type { Queryable } from '../platform/db/connect.ts';
import { PdsErrors } from './errors.ts';
import { formalGivenName, normalizeName, normalizePostcode, searchKeysOf, soundex } from './search-keys.ts';
import { survivingRecord } from './supersession.ts';
import { findCandidates, type CandidateQuery, type DateMatch, type NameMatch, type PatientRow, type PreviousKey, type PreviousValue } from './store.ts';

type QueryValues = Record<string, string | string[] | undefined>;

const KNOWN = new Set(['family', 'given', 'gender', 'birthdate', 'death-date', 'address-postalcode', 'address-postcode', 'general-practitioner', 'email', 'phone', '_fuzzy-match', '_exact-match', '_history', '_max-results']);
const GENDERS = ['male', 'female', 'other', 'unknown'];
const DATE_VALUE = /^(eq|ge|le)?(\d{4}-\d{2}-\d{2})$/;
const MAX_RESULTS = 50;
/** Records fetched to rank; a search matching more than this is too broad to rank anyway. */
const CANDIDATE_LIMIT = 500;
const FUZZY_THRESHOLD = 0.6;
/** What a match on a previous value is worth, against the same match on the current one. */
const HISTORY_FACTOR = 0.9;
const WEIGHTS = { family: 0.35, given: 0.25, birthDate: 0.25, postcode: 0.1, gender: 0.05 } as const;

export type PdsSearch = {
  family?: string;
  given: string[];
  gender?: string;
  birthDates: { prefix: 'eq' | 'ge' | 'le'; date: string }[];
  deathDates: { prefix: 'eq' | 'ge' | 'le'; date: string }[];
  postcode?: string;
  gpOds?: string;
  email?: string;
  phone?: string;
  fuzzy: boolean;
  exact: boolean;
  /** Match what a record held before too (previous names, postcodes, emails and phones); a fuzzy search always does. */
  history: boolean;
  maxResults: number;
};

export type Ranked = { row: PatientRow; score: number };
export type SearchOutcome = { kind: 'matches'; matches: Ranked[] } | { kind: 'too-many' };

export function parsePdsSearch(query: QueryValues, applicationRestricted: boolean): PdsSearch {
  // Parameters PDS does not know are ignored, as the NHS sandbox does (its Postman collection
  // sends `history=true`); a search with none it knows is refused.
  const keys = Object.keys(query).filter((key) => KNOWN.has(key));
  if (keys.length === 0) throw PdsErrors.unsupportedService();
  const all = (key: string) => [query[key] ?? []].flat();
  const one = (key: string) => {
    const values = all(key);
    if (values.length > 1) throw PdsErrors.invalidSearchData(`Invalid search data provided - '${key}' may be given once`);
    return values[0];
  };
  if (query['address-postcode'] !== undefined && query['address-postalcode'] !== undefined) {
    throw PdsErrors.invalidSearchData("Invalid search data provided - 'address-postcode' and 'address-postalcode' cannot be used together");
  }
  const flag = (key: string) => {
    const value = one(key);
    if (value === undefined) return false;
    if (value !== 'true' && value !== 'false') throw PdsErrors.invalidValue(value, key);
    return value === 'true';
  };
  const search: PdsSearch = {
    given: all('given').map((value) => value.trim()).filter(Boolean),
    birthDates: all('birthdate').map((value) => dateValue(value, 'birthdate')),
    deathDates: all('death-date').map((value) => dateValue(value, 'death-date')),
    fuzzy: flag('_fuzzy-match'),
    exact: flag('_exact-match'),
    history: flag('_history'),
    maxResults: maxResults(one('_max-results'), applicationRestricted),
  };
  const family = one('family')?.trim();
  if (family !== undefined) {
    if (family.length > 35) throw PdsErrors.invalidValue(family, 'family');
    search.family = family;
  }
  const gender = one('gender');
  if (gender !== undefined) {
    if (!GENDERS.includes(gender)) throw PdsErrors.invalidValue(gender, 'gender');
    search.gender = gender;
  }
  const postcode = one('address-postalcode') ?? one('address-postcode');
  if (postcode !== undefined) search.postcode = normalizePostcode(postcode);
  const gp = one('general-practitioner');
  if (gp !== undefined) search.gpOds = gp.toUpperCase();
  const email = one('email');
  if (email !== undefined) search.email = email.toLowerCase();
  const phone = one('phone');
  if (phone !== undefined) search.phone = phone.replace(/\s+/g, '');
  checkRules(search);
  return search;
}

function dateValue(value: string, field: string): PdsSearch['birthDates'][number] {
  const match = DATE_VALUE.exec(value);
  if (!match || Number.isNaN(Date.parse(match[2] ?? ''))) throw PdsErrors.invalidValue(value, field);
  return { prefix: (match[1] ?? 'eq') as 'eq' | 'ge' | 'le', date: match[2] ?? '' };
}

function maxResults(value: string | undefined, applicationRestricted: boolean): number {
  if (value === undefined) return applicationRestricted ? 1 : MAX_RESULTS;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > MAX_RESULTS || (applicationRestricted && parsed !== 1)) throw PdsErrors.invalidValue(value, '_max-results');
  return parsed;
}

/** The minimum-parameter and wildcard rules of the trace. */
function checkRules(search: PdsSearch): void {
  const wildcards = [search.family, ...search.given, search.postcode].filter((value): value is string => value?.includes('*') ?? false);
  for (const value of wildcards) {
    if (value.indexOf('*') < 2) throw PdsErrors.invalidSearchData(`Invalid search data provided - '${value}': a wildcard cannot be in the first two characters`);
    if (search.fuzzy) throw PdsErrors.invalidSearchData('Invalid search data provided - wildcards cannot be used with a fuzzy search');
  }
  if (search.birthDates.length === 0) throw PdsErrors.missingValue("Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'");
  if (!search.fuzzy) {
    if (search.family === undefined) throw PdsErrors.missingValue("Missing value - 'family'");
    return;
  }
  const exactBirthDate = search.birthDates.length === 1 && search.birthDates[0]?.prefix === 'eq';
  const given = search.given.length > 0;
  const allowed =
    exactBirthDate &&
    ((given && search.family !== undefined) ||
      (search.family !== undefined && search.gender !== undefined && search.postcode !== undefined) ||
      (given && search.gender !== undefined && search.postcode !== undefined));
  if (!allowed) {
    throw PdsErrors.invalidSearchData(
      'Invalid search data provided - a fuzzy search needs an exact birthdate with given and family names, or with a name, gender and postcode',
    );
  }
}

export async function searchPatients(db: Queryable, search: PdsSearch): Promise<SearchOutcome> {
  const excludeRestricted = search.postcode !== undefined || search.gpOds !== undefined;
  const query = search.fuzzy ? fuzzyQuery(search, excludeRestricted) : exactQuery(search, excludeRestricted);
  const candidates = await findCandidates(db, { ...query, includeSuperseded: true });
  const scored = candidates
    .map((row) => ({ row, score: scoreOf(JSON.parse(row.record) as Patient, search, row.previous ?? []) }))
    .filter((match) => (search.fuzzy ? match.score >= FUZZY_THRESHOLD : match.score > 0))
    .filter((match) => !search.exact || match.score === 1)
    .sort(bestFirst);
  const ranked = await survivorsInPlace(db, scored, excludeRestricted);
  if (ranked.length > search.maxResults) return { kind: 'too-many' };
  return { kind: 'matches', matches: ranked };
}

const bestFirst = (a: Ranked, b: Ranked) => b.score - a.score || a.row.nhsNumber.localeCompare(b.row.nhsNumber);

/**
 * A merged record that matched is answered by its survivor, with the match's score; a survivor
 * found more than once is given once, with its best score (patient-search.yaml: "If an invalidated
 * patient record has been superseded, the superseding record is returned").
 */
async function survivorsInPlace(db: Queryable, matches: Ranked[], excludeRestricted: boolean): Promise<Ranked[]> {
  if (!matches.some((match) => match.row.supersededBy)) return matches;
  const best = new Map<string, Ranked>();
  for (const match of matches) {
    const row = match.row.supersededBy ? await survivingRecord(db, match.row) : match.row;
    if (!row || row.invalidated || row.supersededBy || (excludeRestricted && row.restricted)) continue;
    const kept = best.get(row.nhsNumber);
    if (!kept || match.score > kept.score) best.set(row.nhsNumber, { row, score: match.score });
  }
  return [...best.values()].sort(bestFirst);
}

function exactQuery(search: PdsSearch, excludeRestricted: boolean): CandidateQuery {
  return {
    ...(search.family === undefined ? {} : { family: nameMatch(search.family) }),
    ...(search.given[0] === undefined ? {} : { given: nameMatch(search.given[0]) }),
    birthDate: dateMatch(search.birthDates),
    ...(search.deathDates.length ? { deathDate: dateMatch(search.deathDates) } : {}),
    ...(search.gender ? { gender: search.gender } : {}),
    ...(search.postcode ? { postcode: search.postcode.includes('*') ? { kind: 'prefix' as const, value: search.postcode.split('*')[0] ?? '' } : { kind: 'exact' as const, value: search.postcode } } : {}),
    ...(search.gpOds ? { gpOds: search.gpOds } : {}),
    ...(search.email ? { email: search.email } : {}),
    ...(search.phone ? { phone: search.phone } : {}),
    history: search.history,
    excludeRestricted,
    limit: CANDIDATE_LIMIT,
  };
}

/** Fuzzy: by the Soundex of the names (either way round) and dates of birth close to the one given. */
function fuzzyQuery(search: PdsSearch, excludeRestricted: boolean): CandidateQuery {
  const given = search.given[0];
  const codes = [search.family, given].filter((name): name is string => name !== undefined).map((name) => soundex(formalGivenName(name)));
  const birthDate = search.birthDates[0]?.date ?? '';
  const byFamily = search.family !== undefined;
  return {
    [byFamily ? 'family' : 'given']: { kind: 'phonetic', codes: [...new Set(codes)] } satisfies NameMatch,
    birthDate: { kind: 'any', dates: closeDates(birthDate) },
    // Email and phone match exactly, fuzzy search or not; a fuzzy search always searches history.
    ...(search.email ? { email: search.email } : {}),
    ...(search.phone ? { phone: search.phone } : {}),
    history: true,
    excludeRestricted,
    limit: CANDIDATE_LIMIT,
  };
}

/** A wildcard matches what starts with the part before it. */
function nameMatch(value: string): NameMatch {
  return value.includes('*') ? { kind: 'prefix', value: normalizeName(value.split('*')[0] ?? '') } : { kind: 'exact', value: normalizeName(value) };
}

function dateMatch(values: PdsSearch['birthDates']): DateMatch {
  let from: string | null = null;
  let to: string | null = null;
  for (const { prefix, date } of values) {
    if (prefix !== 'le' && (from === null || date > from)) from = date;
    if (prefix !== 'ge' && (to === null || date < to)) to = date;
  }
  return { kind: 'range', from, to };
}

/** A date of birth, the days either side, and the date with day and month swapped when that is a date. */
export function closeDates(date: string): string[] {
  const day = new Date(`${date}T00:00:00Z`).getTime();
  const dates = [-1, 0, 1].map((offset) => new Date(day + offset * 86_400_000).toISOString().slice(0, 10));
  const [year, month, dayOfMonth] = date.split('-');
  const swapped = `${year}-${dayOfMonth}-${month}`;
  if (!Number.isNaN(Date.parse(`${swapped}T00:00:00Z`)) && new Date(`${swapped}T00:00:00Z`).toISOString().startsWith(swapped)) dates.push(swapped);
  return [...new Set(dates)];
}

function scoreOf(patient: Patient, search: PdsSearch, previous: PreviousValue[]): number {
  const keys = searchKeysOf(patient);
  const held = (key: PreviousKey) => previous.filter((value) => value.key === key).map((value) => value.value);
  /** The better of the current value's score and, discounted, a previous value's. */
  const best = (current: number, key: PreviousKey, scoreOfPrevious: (value: string) => number) =>
    Math.max(current, ...held(key).map((value) => HISTORY_FACTOR * scoreOfPrevious(value)));
  const allGiven = (patient.name?.find((name) => name.use === 'usual') ?? patient.name?.[0])?.given?.map(normalizeName) ?? [];
  const parts: [weight: number, score: number][] = [];
  const family = search.family;
  const given = search.given[0];
  // Transposed: the family name searched for is the record's given name, and the other way round.
  const transposed = family !== undefined && given !== undefined && normalizeName(family) === keys.given && normalizeName(given) === keys.family;
  if (family !== undefined) parts.push([WEIGHTS.family, best(nameScore(family, keys.family, search.fuzzy, transposed), 'family', (value) => nameScore(family, value, search.fuzzy, false))]);
  if (given !== undefined) {
    const laterGivenMatch = search.given.slice(1).every((name) => allGiven.includes(normalizeName(name)));
    const score = best(nameScore(given, keys.given, search.fuzzy, transposed), 'given', (value) => nameScore(given, value, search.fuzzy, false));
    parts.push([WEIGHTS.given, laterGivenMatch ? score : 0]);
  }
  const birthDate = search.birthDates[0];
  if (birthDate) {
    const exactDate = search.fuzzy ? keys.birthDate === birthDate.date : true; // the database applied the range
    parts.push([WEIGHTS.birthDate, exactDate ? 1 : 0.5]);
  }
  if (search.gender) parts.push([WEIGHTS.gender, keys.gender === search.gender ? 1 : 0]);
  const postcode = search.postcode;
  if (postcode) {
    const current = postcode.includes('*') ? 0.75 : keys.postcode === postcode ? 1 : 0;
    parts.push([WEIGHTS.postcode, postcode.includes('*') ? current : best(current, 'postcode', (value) => (value === postcode ? 1 : 0))]);
  }
  const total = parts.reduce((sum, [weight]) => sum + weight, 0);
  return Math.round((parts.reduce((sum, [weight, score]) => sum + weight * score, 0) / total) * 10_000) / 10_000;
}

function nameScore(searched: string, actual: string, fuzzy: boolean, transposed: boolean): number {
  if (searched.includes('*')) return actual.startsWith(normalizeName(searched.split('*')[0] ?? '')) ? 0.75 : 0;
  const query = normalizeName(searched);
  if (query === actual) return 1;
  if (!fuzzy) return 0;
  if (transposed) return 0.5;
  if (formalGivenName(query) === formalGivenName(actual)) return 0.75;
  return soundex(formalGivenName(query)) === soundex(formalGivenName(actual)) ? 0.6 : 0;
}
