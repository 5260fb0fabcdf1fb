// Every shape of the PDS trace is an index lookup: with 50,000 patients loaded, no search plan
// has a sequential scan (the trace must stay fast at 90 million), history searches included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { recordQueryPlans } from '../../test/support/query-plans.ts';
import { parsePdsSearch, searchPatients } from './search.ts';

const ROWS = 50_000;
const { db, url } = await createTestDatabase();
// Synthetic rows in SQL: the keys vary as real ones do (names from md5, births over 70 years).
await db`insert into pds_patient (nhs_number, version_id, last_updated, record, family, given, family_phonetic, given_phonetic, gender, birth_date, postcode, gp_ods, email)
  select lpad(n::text, 10, '0'), 1, now(), '{"resourceType":"Patient"}',
         upper(substr(md5(n::text), 1, 8)), upper(substr(md5((n * 7)::text), 1, 6)),
         'S' || lpad((n % 997)::text, 3, '0'), 'J' || lpad((n % 991)::text, 3, '0'),
         case when n % 2 = 0 then 'female' else 'male' end, date '1950-01-01' + (n % 25000),
         'LS' || (n % 3000), 'A' || (n % 7000), 'p' || n || '@example.com'
  from generate_series(1, ${ROWS}) n`;
// Previous emails (history searches): one for every other patient.
await db`insert into pds_patient_previous (key, value, nhs_number)
  select 'email', 'old' || n || '@example.com', lpad(n::text, 10, '0') from generate_series(1, ${ROWS}, 2) n`;
// Previous names and postcodes (migration 0013): one for every third patient, phonetic codes with the birth date.
await db`insert into pds_patient_previous (key, value, nhs_number)
  select key, value, lpad(n::text, 10, '0') from generate_series(1, ${ROWS}, 3) n,
    lateral (values ('family', upper(substr(md5((n * 3)::text), 1, 8))), ('given', upper(substr(md5((n * 5)::text), 1, 6))), ('postcode', 'YO' || (n % 3000)),
      ('family_phonetic', 'M' || lpad((n % 997)::text, 3, '0') || ' ' || (date '1950-01-01' + (n % 25000))::text),
      ('given_phonetic', 'P' || lpad((n % 991)::text, 3, '0') || ' ' || (date '1950-01-01' + (n % 25000))::text)) previous (key, value)`;
await db`analyze pds_patient`;
await db`analyze pds_patient_previous`;

const { connection: recording, planOf } = recordQueryPlans(url, db);

const SHAPES: Record<string, string> = {
  'family and birth date': 'family=ABCDEF12&birthdate=eq1980-05-06',
  'family wildcard and birth date': 'family=AB*&birthdate=eq1980-05-06',
  'family and a birth date range': 'family=ABCDEF12&birthdate=ge1980-01-01&birthdate=le1980-12-31',
  'fuzzy names and birth date': 'family=Smith&given=Jane&birthdate=eq1980-05-06&_fuzzy-match=true',
  'fuzzy given name, gender and postcode': 'given=Jane&gender=female&address-postalcode=LS1 6AE&birthdate=eq1980-05-06&_fuzzy-match=true',
  'postcode': 'family=ABCDEF12&birthdate=ge1950-01-01&address-postalcode=LS12*',
  'email': 'family=ABCDEF12&birthdate=ge1950-01-01&email=p42@example.com',
  'email with history': 'family=ABCDEF12&birthdate=ge1950-01-01&email=old41@example.com&_history=true',
  'fuzzy names and email (always history)': 'family=Smith&given=Jane&birthdate=eq1980-05-06&email=old41@example.com&_fuzzy-match=true',
  'family with history': 'family=ABCDEF12&birthdate=eq1980-05-06&_history=true',
  'family wildcard with history': 'family=AB*&birthdate=eq1980-05-06&_history=true',
  'family, given and a birth date range with history': 'family=ABCDEF12&given=ABCDEF&birthdate=ge1980-01-01&birthdate=le1980-12-31&_history=true',
  'postcode with history': 'family=ABCDEF12&birthdate=ge1950-01-01&address-postalcode=YO12&_history=true',
  'postcode wildcard with history': 'family=ABCDEF12&birthdate=ge1950-01-01&address-postalcode=YO1*&_history=true',
  'fuzzy names, previous ones too': 'family=Maidenly&given=Philippa&birthdate=eq1980-05-06&_fuzzy-match=true',
  'fuzzy given name, gender and postcode, previous ones too': 'given=Philippa&gender=female&address-postalcode=YO1 7HH&birthdate=eq1980-05-06&_fuzzy-match=true',
};

for (const [shape, query] of Object.entries(SHAPES)) {
  test(`a search by ${shape} uses an index`, async () => {
    const plan = await planOf(() => searchPatients(recording, parsePdsSearch(queryOf(query), false)));
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  });
}

/** A query string as Fastify parses it: a repeated parameter becomes an array. */
function queryOf(text: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [existing].flat().concat(value);
  }
  return query;
}

