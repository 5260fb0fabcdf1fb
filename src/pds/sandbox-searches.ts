// Two searches the NHS PDS sandbox answers with canned results that no honest search gives,
// answered the same way in sandbox mode only (NHS sandbox compatibility): sandbox mode exists so
// that a test suite written against the NHS sandbox, such as its own Postman collection
// (../shared/specs/pds/postman/), runs unchanged against OpenSpine. Outside sandbox mode these
// searches are searched like any other.
//
// The NHS sandbox does not search. Its handler, karate-tests/src/test/java/mocks/sandbox/get-patient-search.js
// in NHSDigital/personal-demographics-service-api (https://github.com/NHSDigital/personal-demographics-service-api),
// picks a stubbed Bundle by the values of the parameters; the stubs are in mocks/sandbox/stubs.js and
// ../shared/specs/pds/karate-tests/src/test/java/mocks/stubs/searchResponses/ (search_patient_9000000009.json,
// search_patient_9000000017.json):
// - a fuzzy search with neither phone nor email (outside a few other named scenarios) gets
//   FUZZY_SEARCH_PATIENT_17: Jayne Smyth, 9000000017, alone, score 0.8976; patient-search.yaml's
//   scenario "Fuzzy search without phone or email" and the collection's "Fuzzy search" send
//   Smith, Jane, female, 2010-10-22. An honest fuzzy search ranks Jane Smith (9000000009, every key
//   exact) first, as the same search narrowed by phone finds her.
// - a search for family `Sm*` with email=janet.smythe@example.com gets Jane Smith, 9000000009,
//   score 1; the collection's "Search with limited results inc
//   email" sends it with female, eq2010-10-22 and _max-results=1. That email is Janet Smythe's
//   (9000000025, born 2005-06-16) and email matches exactly, so an honest search finds no one.
// Each is recognised only in the exact shape the spec's scenario and the collection send (the
// same parameters, no others), so any other search in sandbox mode is still searched.
import type { Queryable } from '../platform/db/connect.ts';
import type { SearchOutcome } from './search.ts';
import { readPatient } from './store.ts';

type QueryValues = Record<string, string | string[] | undefined>;

type CannedSearch = {
  /** The parameters the search must have, each matching its pattern. */
  required: Record<string, RegExp>;
  /** Parameters it may have too. */
  optional?: Record<string, RegExp>;
  /** The entries the NHS sandbox answers, in its order, with its scores. */
  answer: { nhsNumber: string; score: number }[];
};

const CANNED_SEARCHES: CannedSearch[] = [
  // get-patient-search.js: a fuzzy search with neither phone nor email; the stub FUZZY_SEARCH_PATIENT_17.
  {
    required: { family: /^smith$/i, given: /^jane$/i, gender: /^female$/, birthdate: /^(eq)?2010-10-22$/, '_fuzzy-match': /^true$/ },
    answer: [{ nhsNumber: '9000000017', score: 0.8976 }],
  },
  // get-patient-search.js: family Sm* (or sm*) with Janet Smythe's email; Jane Smith's searchset at score 1.
  {
    required: { family: /^sm\*$/i, gender: /^female$/, birthdate: /^eq2010-10-22$/, email: /^janet\.smythe@example\.com$/i },
    optional: { '_max-results': /^\d+$/ },
    answer: [{ nhsNumber: '9000000009', score: 1 }],
  },
];

function isShapeOf(canned: CannedSearch, query: QueryValues): boolean {
  const patterns: Record<string, RegExp> = { ...canned.optional, ...canned.required };
  const keys = Object.keys(query).filter((key) => query[key] !== undefined);
  if (!Object.keys(canned.required).every((key) => keys.includes(key))) return false;
  return keys.every((key) => {
    const value = query[key];
    return typeof value === 'string' && patterns[key]?.test(value.trim()) === true;
  });
}

/**
 * What the NHS sandbox answers to a search it answers with a canned result, or undefined for any
 * other search. For sandbox mode only; the query has been checked as any search is (parsePdsSearch).
 */
export async function sandboxCannedSearch(db: Queryable, query: QueryValues): Promise<SearchOutcome | undefined> {
  const canned = CANNED_SEARCHES.find((candidate) => isShapeOf(candidate, query));
  if (!canned) return undefined;
  const matches = [];
  for (const { nhsNumber, score } of canned.answer) {
    const row = await readPatient(db, nhsNumber);
    if (row) matches.push({ row, score });
  }
  return { kind: 'matches', matches };
}
