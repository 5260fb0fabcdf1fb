// The SQL of the Personal Demographics Service.
import type { Patient } from '@medplum/fhirtypes';
import { coalescedLookup, isPool, perDatabase } from '../platform/db/coalesce.ts';
import type { Queryable } from '../platform/db/connect.ts';
import type { SearchKeys } from './search-keys.ts';

export type PatientRow = {
  nhsNumber: string;
  versionId: number;
  lastUpdated: Date;
  /** The record as JSON text, without meta. */
  record: string;
  restricted: boolean;
  invalidated: boolean;
  supersededBy: string | null;
  /** Values the record held before (history), when the search asked for them. */
  previous?: PreviousValue[];
};

export type PreviousValue = { key: PreviousKey; value: string };

type Row = { nhs_number: string; version_id: number; last_updated: Date; record: string; restricted: boolean; invalidated: boolean; superseded_by: string | null; previous?: string };
const COLUMNS = 'nhs_number, version_id, last_updated, record::text as record, restricted, invalidated, superseded_by';
const toPatientRow = (row: Row): PatientRow => ({
  nhsNumber: row.nhs_number,
  versionId: Number(row.version_id),
  lastUpdated: row.last_updated,
  record: row.record,
  restricted: row.restricted,
  invalidated: row.invalidated,
  supersededBy: row.superseded_by,
  ...(row.previous === undefined ? {} : { previous: (JSON.parse(row.previous) as [PreviousKey, string][]).map(([key, value]) => ({ key, value })) }),
});

export async function readPatient(db: Queryable, nhsNumber: string, forUpdate = false): Promise<PatientRow | undefined> {
  if (!forUpdate && isPool(db)) return patientLookup(db)(nhsNumber);
  const [row] = await db.unsafe<Row[]>(`select ${COLUMNS} from pds_patient where nhs_number = $1${forUpdate ? ' for update' : ''}`, [nhsNumber], { prepare: true });
  return row && toPatientRow(row);
}

/** Reads outside a transaction, gathered into one statement per turn of the event loop. */
const patientLookup = perDatabase((db) =>
  coalescedLookup(async (nhsNumbers) => {
    const rows = await db.unsafe<Row[]>(`select ${COLUMNS} from pds_patient where nhs_number = any($1::text[])`, [nhsNumbers], { prepare: true });
    return new Map(rows.map((row) => [row.nhs_number, toPatientRow(row)]));
  }),
);

export type PatientWrite = { nhsNumber: string; versionId: number; lastUpdated: Date; record: Patient; restricted: boolean; keys: SearchKeys };

/**
 * Writes a version of a record; with `expectedVersion`, only over that version, and with 'new' only
 * when the NHS number is free (else nothing, and false).
 */
export async function writePatient(db: Queryable, write: PatientWrite, expectedVersion?: number | 'new'): Promise<boolean> {
  const { keys } = write;
  const values = [
    write.nhsNumber, write.versionId, write.lastUpdated, JSON.stringify(write.record), write.restricted,
    keys.family, keys.given, keys.familyPhonetic, keys.givenPhonetic, keys.gender, keys.birthDate, keys.deathDate, keys.postcode, keys.gpOds, keys.email, keys.phone,
  ];
  const columns = 'nhs_number, version_id, last_updated, record, restricted, family, given, family_phonetic, given_phonetic, gender, birth_date, death_date, postcode, gp_ods, email, phone';
  const placeholders = '$1, $2, $3, $4::text::json, $5, $6, $7, $8, $9, $10, $11::date, $12::date, $13, $14, $15, $16';
  const assignments = columns.split(', ').slice(1).map((column) => `${column} = excluded.${column}`).join(', ');
  const onConflict =
    expectedVersion === 'new' ? 'do nothing' : `do update set ${assignments}${expectedVersion === undefined ? '' : ` where pds_patient.version_id = ${Number(expectedVersion)}`}`;
  const rows = await db.unsafe(`insert into pds_patient (${columns}) values (${placeholders}) on conflict (nhs_number) ${onConflict} returning nhs_number`, values as never[], { prepare: true });
  return rows.length === 1;
}

/** The first of these NHS numbers that no record has, if any. */
export async function firstFreeNumber(db: Queryable, numbers: readonly string[]): Promise<string | undefined> {
  if (numbers.length === 0) return undefined;
  const [row] = await db<{ nhs_number: string }[]>`
    select candidate.nhs_number from unnest(${numbers as string[]}::text[]) with ordinality as candidate (nhs_number, position)
    where not exists (select 1 from pds_patient where pds_patient.nhs_number = candidate.nhs_number)
    order by candidate.position limit 1`;
  return row?.nhs_number;
}

export async function markInvalidated(db: Queryable, nhsNumber: string): Promise<void> {
  await db`update pds_patient set invalidated = true where nhs_number = ${nhsNumber}`;
}

export async function markSuperseded(db: Queryable, nhsNumber: string, survivor: string): Promise<void> {
  await db`update pds_patient set superseded_by = ${survivor} where nhs_number = ${nhsNumber}`;
}

/** How a name key is matched: as given, by prefix (a wildcard), or by any of some Soundex codes. */
export type NameMatch = { kind: 'exact' | 'prefix'; value: string } | { kind: 'phonetic'; codes: string[] };
export type DateMatch = { kind: 'range'; from: string | null; to: string | null } | { kind: 'any'; dates: string[] };

export type CandidateQuery = {
  family?: NameMatch;
  given?: NameMatch;
  birthDate?: DateMatch;
  deathDate?: DateMatch;
  gender?: string;
  postcode?: { kind: 'exact' | 'prefix'; value: string };
  gpOds?: string;
  email?: string;
  phone?: string;
  /** Names, postcode, email and phone match the values a record held before too (a history or fuzzy search). */
  history?: boolean;
  /** Restricted patients are left out of searches by postcode or GP. */
  excludeRestricted: boolean;
  /** Superseded (merged) records match too; the caller answers with their survivors. */
  includeSuperseded?: boolean;
  limit: number;
};

/** The records that may match, found through the trace's indexes; scoring and ranking follow in code. */
export async function findCandidates(db: Queryable, query: CandidateQuery): Promise<PatientRow[]> {
  const values: unknown[] = [];
  const bind = (value: unknown) => `$${values.push(value)}`;
  const conditions = query.includeSuperseded ? ['not invalidated'] : ['not invalidated', 'superseded_by is null'];
  /** Records that held a value before: looked up once (an InitPlan over the primary key), then OR'd in. */
  const heldBefore = (key: PreviousKey, condition: string) => `nhs_number = any(array(select nhs_number from pds_patient_previous where key = '${key}' and ${condition}))`;
  const withHistory = (current: string, key: PreviousKey, previous: string | undefined) =>
    conditions.push(query.history && previous !== undefined ? `(${current} or ${heldBefore(key, previous)})` : current);
  const name = (column: 'family' | 'given', match: NameMatch | undefined) => {
    if (!match) return;
    if (match.kind === 'phonetic') {
      // A previous name's code is kept with the birth date ('S530 1980-05-06'), so it is looked up with the dates searched.
      const dates = query.birthDate?.kind === 'any' ? query.birthDate.dates : [];
      const previous = dates.length ? `value = any(${bind(match.codes.flatMap((code) => dates.map((date) => `${code} ${date}`)))}::text[])` : undefined;
      withHistory(`${column}_phonetic = any(${bind(match.codes)}::text[])`, `${column}_phonetic`, previous);
    } else {
      const condition = textCondition(match, bind);
      withHistory(condition(column), column, condition('value'));
    }
  };
  const date = (column: string, match: DateMatch | undefined) => {
    if (!match) return;
    if (match.kind === 'any') conditions.push(`${column} = any(${bind(match.dates)}::date[])`);
    else {
      if (match.from) conditions.push(`${column} >= ${bind(match.from)}::date`);
      if (match.to) conditions.push(`${column} <= ${bind(match.to)}::date`);
    }
  };
  name('family', query.family);
  name('given', query.given);
  date('birth_date', query.birthDate);
  date('death_date', query.deathDate);
  if (query.gender) conditions.push(`gender = ${bind(query.gender)}`);
  if (query.postcode) {
    const condition = textCondition(query.postcode, bind);
    withHistory(condition('postcode'), 'postcode', condition('value'));
  }
  if (query.gpOds) conditions.push(`gp_ods = ${bind(query.gpOds)}`);
  const telecom = (key: 'email' | 'phone', value: string | undefined) => {
    if (!value) return;
    const bound = bind(value);
    withHistory(`${key} = ${bound}`, key, `value = ${bound}`);
  };
  telecom('email', query.email);
  telecom('phone', query.phone);
  if (query.excludeRestricted) conditions.push('not restricted');
  // A history search scores what a record held before too: its previous values come with it.
  const previous = query.history
    ? `, (select coalesce(json_agg(json_build_array(key, value)), '[]') from pds_patient_previous where pds_patient_previous.nhs_number = pds_patient.nhs_number)::text as previous`
    : '';
  const text = `select ${COLUMNS}${previous} from pds_patient where ${conditions.join(' and ')} order by nhs_number limit ${bind(query.limit)}`;
  const rows = await db.unsafe<Row[]>(text, values as never[], { prepare: true });
  return rows.map(toPatientRow);
}

export type PreviousKey = 'email' | 'phone' | 'family' | 'given' | 'family_phonetic' | 'given_phonetic' | 'postcode';

/** A condition on a text key, for the column given: equal, or starting with (a wildcard). */
function textCondition(match: { kind: 'exact' | 'prefix'; value: string }, bind: (value: unknown) => string): (column: string) => string {
  if (match.kind === 'exact') {
    const value = bind(match.value);
    return (column) => `${column} = ${value}`;
  }
  const [from, to] = [bind(match.value), bind(`${match.value}\u{10FFFF}`)];
  return (column) => `${column} >= ${from} and ${column} < ${to}`;
}

/** Keeps a value a record held before, for history searches; a value kept already is left as is. */
export async function addPreviousValue(db: Queryable, nhsNumber: string, key: PreviousKey, value: string): Promise<void> {
  await db`insert into pds_patient_previous (key, value, nhs_number) values (${key}, ${value}, ${nhsNumber}) on conflict do nothing`;
}

/** A patient's related people, as stored (JSON text of RelatedPerson resources). */
export async function relatedPeopleOf(db: Queryable, nhsNumber: string): Promise<{ id: string; record: string }[]> {
  return db<{ id: string; record: string }[]>`
    select related_id as id, record::text as record from pds_related_person where nhs_number = ${nhsNumber} order by related_id`;
}

export async function addRelatedPerson(db: Queryable, nhsNumber: string, id: string, record: object): Promise<void> {
  await db`insert into pds_related_person (nhs_number, related_id, record) values (${nhsNumber}, ${id}, ${JSON.stringify(record)}::text::json)
           on conflict do nothing`;
}

export async function coverageOf(db: Queryable, nhsNumber: string): Promise<string | undefined> {
  const [row] = await db<{ record: string }[]>`select record::text as record from pds_coverage where nhs_number = ${nhsNumber}`;
  return row?.record;
}

export async function setCoverage(db: Queryable, nhsNumber: string, record: object): Promise<void> {
  await db`insert into pds_coverage (nhs_number, record) values (${nhsNumber}, ${JSON.stringify(record)}::text::json)
           on conflict (nhs_number) do update set record = excluded.record`;
}

/** Moves a record to its next version if it is still at `expected`; the new version, or undefined. */
export async function bumpVersion(db: Queryable, nhsNumber: string, expected: number): Promise<number | undefined> {
  const [row] = await db<{ version_id: number }[]>`
    update pds_patient set version_id = version_id + 1, last_updated = now()
    where nhs_number = ${nhsNumber} and version_id = ${expected} returning version_id`;
  return row && Number(row.version_id);
}
