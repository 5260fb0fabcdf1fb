// Bulk load and export of PDS records as NDJSON (FHIR Bulk Data: one Patient per line). A load is
// all or nothing: COPY into a temporary table, then one transaction moves the rows and checks them.
// A merged record travels as a Patient with a `link` of type `replaced-by` to its survivor, an
// invalidated one with a REDACTED security label (see securityLabels).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Coding, Patient } from '@medplum/fhirtypes';
import type { Database, Transaction } from '../platform/db/connect.ts';
import { NHS_NUMBER_SYSTEM, isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { searchKeysOf } from './search-keys.ts';

const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
/** Lines gathered into one write to the COPY stream, and between progress reports. */
const LINES_PER_CHUNK = 2000;
const EXPORT_BATCH = 2000;
const DUPLICATES_SHOWN = 5;
const STAGING_COLUMNS = 'line, nhs_number, version_id, last_updated, record, restricted, invalidated, superseded_by, family, given, family_phonetic, given_phonetic, gender, birth_date, death_date, postcode, gp_ods, email, phone';
const PATIENT_COLUMNS = STAGING_COLUMNS.split(', ').slice(1).join(', ');
const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** The largest version PostgreSQL's integer holds. */
const MAX_VERSION = 2_147_483_647;
/** Memory for each index build of a large load (the server's default is 64 MB). */
const INDEX_BUILD_MEMORY = '256MB';

export type BulkProgress = { phase: 'loading' | 'moving' | 'indexing' | 'verifying' | 'exporting'; records: number; bytes: number };
export type BulkSummary = { records: number; checksum: string };
/** A progress report; a promise returned holds the load at that point until it settles (tests use it). */
type Options = { onProgress?: (progress: BulkProgress) => void | Promise<void> };
/**
 * `lockTable`: into a table that holds records, drop and build again its secondary indexes, as
 * into an empty one: faster when the table holds few records compared with the load (a first
 * national load beside the demo patients), but reads and searches wait for it.
 */
type ImportOptions = Options & { lockTable?: boolean };

/** Why a load was refused: a line that is not a valid Patient, an NHS number already held, or a check that failed. */
export class PatientImportError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'PatientImportError';
    this.line = line;
  }
}

/**
 * Loads the NDJSON patients in one transaction: every line or none, so a load that fails anywhere
 * leaves nothing behind and can simply be run again. NHS numbers already held, or given twice,
 * refuse the whole load (a load adds records; it never overwrites one), as does a merged record
 * whose survivor is neither held nor in the file. The rows written are checked against what was
 * read (count and checksum) before the commit.
 *
 * Into an empty table the lines are COPYed straight in with the secondary indexes dropped, then
 * the indexes are built again (which needs the table's owner, the CLI's login): the fastest way,
 * and reads of the empty table wait for it. Into a table that holds records they are COPYed into a
 * temporary table and inserted beside the table's indexes, unseen until the commit (MVCC), taking
 * no lock stronger than row-exclusive: reads, searches and updates go on throughout (unless
 * `lockTable` asks for speed over them).
 */
export async function importPatients(db: Database, input: Readable, options: ImportOptions = {}): Promise<BulkSummary> {
  return db.begin(async (tx) => ((await claimEmptyTable(tx)) ? loadIntoEmptyTable(tx, input, options) : loadBesideReaders(tx, input, options)));
}

/**
 * Whether the table is empty, and if so locks it (dropping an index does) and checks again under
 * the lock: a record written in between sends the load down the other path, still correct.
 */
async function claimEmptyTable(tx: Transaction): Promise<boolean> {
  if (!(await isEmpty(tx))) return false;
  await tx`lock table pds_patient in access exclusive mode`;
  return isEmpty(tx);
}

async function loadIntoEmptyTable(tx: Transaction, input: Readable, options: Options): Promise<BulkSummary> {
  const rebuilt = await dropIndexesAndKeys(tx, { keys: true });
  const read = await stageLines(tx, 'pds_patient', input, options);
  try {
    await buildAgain(tx, rebuilt, read, options);
  } catch (error) {
    // The table was empty: the primary key refuses a number given twice in the file.
    if (isUniqueViolation(error)) throw new PatientImportError(`an NHS number is given more than once in the file (${error.detail ?? ''})`);
    throw error;
  }
  await refuseMissingSurvivors(tx, 'pds_patient');
  return verify(tx, read, 'pds_patient', options);
}

async function loadBesideReaders(tx: Transaction, input: Readable, options: ImportOptions): Promise<BulkSummary> {
  await tx.unsafe(`create temporary table pds_import (line integer not null, nhs_number text not null, version_id integer not null, last_updated timestamptz,
    record json not null, restricted boolean not null, invalidated boolean not null, superseded_by text, family text collate "C" not null, given text collate "C" not null, family_phonetic text not null,
    given_phonetic text not null, gender text, birth_date date, death_date date, postcode text collate "C", gp_ods text, email text, phone text) on commit drop`);
  const read = await stageLines(tx, 'pds_import', input, options);
  await options.onProgress?.({ phase: 'moving', records: read.records, bytes: read.bytes });
  await tx`analyze pds_import`;
  await refuseHeldNumbers(tx);
  // Asked to lock the table: its secondary indexes are built again rather than added to, and reads wait.
  const rebuilt = options.lockTable ? await dropIndexesAndKeys(tx, { keys: false }) : [];
  try {
    await tx.unsafe(`insert into pds_patient (${PATIENT_COLUMNS})
      select nhs_number, version_id, coalesce(last_updated, now()), ${PATIENT_COLUMNS.split(', ').slice(3).join(', ')} from pds_import order by nhs_number`);
  } catch (error) {
    // The numbers held before were refused above: a clash now is a number given twice in the file
    // (or one that PDS allocated to a new patient while the load ran).
    if (isUniqueViolation(error)) throw new PatientImportError(`an NHS number is given more than once in the file, or was just allocated (${error.detail ?? ''})`);
    throw error;
  }
  await refuseMissingSurvivors(tx, 'pds_import');
  if (rebuilt.length > 0) await buildAgain(tx, rebuilt, read, options);
  return verify(tx, read, 'pds_import', options);
}

async function buildAgain(tx: Transaction, definitions: string[], read: Staged, options: Options): Promise<void> {
  await options.onProgress?.({ phase: 'indexing', records: read.records, bytes: read.bytes });
  await tx.unsafe(`set local maintenance_work_mem = '${INDEX_BUILD_MEMORY}'`);
  for (const definition of definitions) await tx.unsafe(definition);
}

/** Checks the rows of this load in the table against what was read: count and checksum. */
async function verify(tx: Transaction, read: Staged, loaded: 'pds_patient' | 'pds_import', options: Options): Promise<BulkSummary> {
  await options.onProgress?.({ phase: 'verifying', records: read.records, bytes: read.bytes });
  const scope = loaded === 'pds_patient' ? '' : 'where nhs_number in (select nhs_number from pds_import)';
  const [written] = await tx.unsafe<BulkSummary[]>(`select ${CHECKSUM_SQL} from pds_patient ${scope}`);
  if (written?.records !== read.records || written.checksum !== read.checksum) {
    throw new PatientImportError(`the check after loading failed: read ${read.records} records (checksum ${read.checksum}), the table holds ${written?.records ?? 0} of them (checksum ${written?.checksum ?? ''})`);
  }
  return { records: read.records, checksum: read.checksum };
}

/**
 * Streams every record as NDJSON, in NHS number order: the ones PDS serves as themselves, the merged
 * ones with a `replaced-by` link to their survivor, and the invalidated ones marked REDACTED, so that
 * a load of the file keeps the merges and still holds every NHS number ever given out: one left out
 * would look free, and PDS could allocate it to a new patient.
 */
export async function exportPatients(db: Database, output: Writable, options: Options = {}): Promise<BulkSummary> {
  const checksum = new Checksum();
  let bytes = 0;
  const rows = db<ExportRow[]>`select nhs_number, version_id, last_updated, restricted, invalidated, superseded_by, record::text as record from pds_patient
    order by nhs_number`.cursor(EXPORT_BATCH);
  for await (const batch of rows) {
    let chunk = '';
    for (const row of batch) {
      checksum.add({ nhsNumber: row.nhs_number, restricted: row.restricted, invalidated: row.invalidated, supersededBy: row.superseded_by, record: row.record });
      chunk += `${JSON.stringify(bulkPatient(row))}\n`;
    }
    bytes += Buffer.byteLength(chunk);
    if (!output.write(chunk)) await once(output, 'drain');
    await options.onProgress?.({ phase: 'exporting', records: checksum.records, bytes });
  }
  return checksum.summary();
}

type ExportRow = { nhs_number: string; version_id: number; last_updated: Date; restricted: boolean; invalidated: boolean; superseded_by: string | null; record: string };

/**
 * The record as a Bulk Data line: the NHS number as id, meta with the version and the security
 * labels, and for a merged record a link to the record that replaced it.
 */
function bulkPatient(row: ExportRow): Patient {
  const { resourceType: _type, id: _id, meta: _meta, link, ...rest } = JSON.parse(row.record) as Patient;
  const links = [...(link ?? []), ...(row.superseded_by ? [replacedBy(row.superseded_by)] : [])];
  return {
    resourceType: 'Patient',
    id: row.nhs_number,
    meta: { versionId: String(row.version_id), lastUpdated: row.last_updated.toISOString(), security: securityLabels(row) },
    ...rest,
    ...(links.length ? { link: links } : {}),
  };
}

const REDACTED_LABEL = { system: CONFIDENTIALITY_SYSTEM, code: 'REDACTED', display: 'redacted' };
/** Whether a line carries this code of the confidentiality system in meta.security (R, or REDACTED). */
const hasLabel = (patient: Patient, code: string) => patient.meta?.security?.some((label) => label.system === CONFIDENTIALITY_SYSTEM && label.code === code) ?? false;

/**
 * A record's flags as labels in meta.security (https://hl7.org/fhir/R4/security-labels.html): its
 * confidentiality, U or R (restricted), as PDS serves it, then for an invalidated record REDACTED,
 * the PDS FHIR API's code for a record "marked as invalid, so the data should not be used"
 * (../shared/specs/pds/specification/components/schemas/Meta.yaml). PDS answers with one label and
 * never with REDACTED (a read answers INVALIDATED_RESOURCE); a file carries both, so that a
 * restricted record that was invalidated loads back as both. Not `active: false`, which belongs to
 * the record and a load keeps as given, nor a Bulk Data deletion
 * (https://hl7.org/fhir/uv/bulkdata/export.html), which would leave the record, and its NHS number, out.
 */
function securityLabels(flags: { restricted: boolean; invalidated: boolean }): Coding[] {
  return flags.invalidated ? [confidentialityLabel(flags.restricted), REDACTED_LABEL] : [confidentialityLabel(flags.restricted)];
}

/** A record's confidentiality as PDS labels it: R for a restricted patient, U otherwise. */
export function confidentialityLabel(restricted: boolean): Coding {
  return restricted ? { system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' } : { system: CONFIDENTIALITY_SYSTEM, code: 'U', display: 'unrestricted' };
}

/** FHIR's form of a merge: this record was replaced by the survivor's. */
export function replacedBy(survivor: string): NonNullable<Patient['link']>[number] {
  return { type: 'replaced-by', other: { reference: `Patient/${survivor}`, identifier: { system: NHS_NUMBER_SYSTEM, value: survivor } } };
}

/** The survivor a record's `replaced-by` link names (by NHS number identifier or Patient reference), if any. */
function survivorOf(patient: Patient, lineNumber: number): string | undefined {
  const links = patient.link?.filter((link) => link.type === 'replaced-by') ?? [];
  if (links.length > 1) throw new PatientImportError('more than one replaced-by link', lineNumber);
  const other = links[0]?.other;
  if (!other) return undefined;
  const survivor = other.identifier?.system === NHS_NUMBER_SYSTEM ? other.identifier.value : /^Patient\/(\d{10})$/.exec(other.reference ?? '')?.[1];
  if (survivor === undefined || !isValidNhsNumber(survivor)) throw new PatientImportError('the replaced-by link names no valid NHS number', lineNumber);
  return survivor;
}

/**
 * The checksum of a set of records: the sum of the first 64 bits of each one's md5 (of NHS number,
 * restricted flag, 'invalidated' for an invalidated record, the survivor's NHS number for a merged
 * one, and record text), so the order does not matter and SQL can compute the same.
 */
const CHECKSUM_SQL = `count(*)::integer as records,
  coalesce(sum(('x' || left(md5(nhs_number || ' ' || restricted::text || case when invalidated then ' invalidated' else '' end
    || coalesce(' ' || superseded_by, '') || ' ' || record::text), 16))::bit(64)::bigint), 0)::text as checksum`;

type ChecksummedRecord = { nhsNumber: string; restricted: boolean; invalidated: boolean; supersededBy: string | null; record: string };

class Checksum {
  records = 0;
  #sum = 0n;
  add({ nhsNumber, restricted, invalidated, supersededBy, record }: ChecksummedRecord): void {
    const flags = `${restricted}${invalidated ? ' invalidated' : ''}${supersededBy === null ? '' : ` ${supersededBy}`}`;
    const digest = createHash('md5').update(`${nhsNumber} ${flags} ${record}`).digest('hex');
    this.#sum += BigInt.asIntN(64, BigInt(`0x${digest.slice(0, 16)}`));
    this.records++;
  }
  summary(): BulkSummary {
    return { records: this.records, checksum: this.#sum.toString() };
  }
}

type Staged = BulkSummary & { bytes: number };

/** Reads the lines, checks and keys each, and COPYs them into the temporary table (with line numbers) or the table itself. */
async function stageLines(tx: Transaction, into: 'pds_import' | 'pds_patient', input: Readable, options: Options): Promise<Staged> {
  const withLine = into === 'pds_import';
  // A record without meta.lastUpdated was last updated by this load.
  const loadedAt = new Date().toISOString();
  const copy = await tx.unsafe(`copy ${into} (${withLine ? STAGING_COLUMNS : PATIENT_COLUMNS}) from stdin`).writable();
  const checksum = new Checksum();
  let bytes = 0;
  let lineNumber = 0;
  let chunk = '';
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      bytes += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      chunk += stagingRow(lineNumber, line, checksum, withLine, loadedAt);
      if (checksum.records % LINES_PER_CHUNK === 0) {
        if (!copy.write(chunk)) await once(copy, 'drain');
        chunk = '';
        await options.onProgress?.({ phase: 'loading', records: checksum.records, bytes });
      }
    }
    copy.end(chunk);
    await once(copy, 'finish');
  } catch (error) {
    copy.destroy();
    throw error;
  }
  await options.onProgress?.({ phase: 'loading', records: checksum.records, bytes });
  return { ...checksum.summary(), bytes };
}

/** One line of the file as a row of COPY's text format, or a PatientImportError naming the line. */
function stagingRow(lineNumber: number, line: string, checksum: Checksum, withLine: boolean, loadedAt: string): string {
  let patient: Patient;
  try {
    patient = JSON.parse(line) as Patient;
  } catch {
    throw new PatientImportError('not valid JSON', lineNumber);
  }
  if (typeof patient !== 'object' || patient === null || patient.resourceType !== 'Patient') throw new PatientImportError('not a FHIR Patient', lineNumber);
  const nhsNumber = patient.identifier?.find((identifier) => identifier.system === NHS_NUMBER_SYSTEM)?.value ?? patient.id;
  if (nhsNumber === undefined) throw new PatientImportError('no NHS number (an identifier of the system https://fhir.nhs.uk/Id/nhs-number)', lineNumber);
  if (!isValidNhsNumber(nhsNumber)) throw new PatientImportError(`'${nhsNumber}' is not a valid NHS number`, lineNumber);
  if (patient.id !== undefined && patient.id !== nhsNumber) throw new PatientImportError(`the id '${patient.id}' is not the NHS number ${nhsNumber}`, lineNumber);
  for (const [field, value] of [['birthDate', patient.birthDate], ['deceasedDateTime', patient.deceasedDateTime?.slice(0, 10)]] as const) {
    // The trace's date keys are whole days: a partial or impossible date cannot be searched on.
    if (value !== undefined && !(FULL_DATE.test(value) && value >= '0001' && new Date(value).toISOString().startsWith(value))) throw new PatientImportError(`${field} '${value}' is not a full date`, lineNumber);
  }
  if (line.includes('\\u0000')) throw new PatientImportError('a NUL character (\\u0000), which PostgreSQL text cannot hold', lineNumber);
  const versionId = patient.meta?.versionId === undefined ? 1 : Number(patient.meta.versionId);
  if (!Number.isInteger(versionId) || versionId < 1 || versionId > MAX_VERSION) throw new PatientImportError(`meta.versionId '${patient.meta?.versionId ?? ''}' is not a positive whole number`, lineNumber);
  const lastUpdated = patient.meta?.lastUpdated === undefined ? loadedAt : instant(patient.meta.lastUpdated);
  if (lastUpdated === undefined) throw new PatientImportError(`meta.lastUpdated '${patient.meta?.lastUpdated ?? ''}' is not an instant`, lineNumber);
  const restricted = hasLabel(patient, 'R');
  const invalidated = hasLabel(patient, REDACTED_LABEL.code);
  const survivor = survivorOf(patient, lineNumber) ?? null;
  if (survivor === nhsNumber) throw new PatientImportError('a record cannot be replaced by itself', lineNumber);
  // Stored without id and meta, as PDS stores every record: both are made when it is served. A
  // merge is kept as superseded_by, not as a link in the record.
  const { id: _id, meta, link, ...stored } = patient;
  const otherLinks = link?.filter((entry) => entry.type !== 'replaced-by') ?? [];
  const record = JSON.stringify(otherLinks.length ? { ...stored, link: otherLinks } : stored);
  // JSON.stringify escapes only lone surrogates, which PostgreSQL's json refuses.
  if (/\\ud[89a-f][0-9a-f]{2}/i.test(record)) throw new PatientImportError('text with a lone surrogate, not valid Unicode', lineNumber);
  checksum.add({ nhsNumber, restricted, invalidated, supersededBy: survivor, record });
  const keys = searchKeysOf(patient);
  const fields = [
    ...(withLine ? [lineNumber] : []), nhsNumber, versionId, lastUpdated, record, restricted, invalidated, survivor, keys.family, keys.given, keys.familyPhonetic, keys.givenPhonetic,
    keys.gender, keys.birthDate, keys.deathDate, keys.postcode, keys.gpOds, keys.email, keys.phone,
  ];
  return `${fields.map(copyField).join('\t')}\n`;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A value in COPY's text format: \N for null, and backslash, tab and line breaks escaped. */
function copyField(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  const text = String(value);
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (character) => COPY_ESCAPES[character] ?? character) : text;
}

/** Refuses the load when any of its NHS numbers is held already, naming the first few with their lines. */
async function refuseHeldNumbers(tx: Transaction): Promise<void> {
  const held = await tx<{ line: number; nhs_number: string }[]>`select line, nhs_number from pds_import join pds_patient using (nhs_number) order by line limit ${DUPLICATES_SHOWN}`;
  if (held.length === 0) return;
  const list = held.map((row) => `${row.nhs_number} (line ${row.line})`).join(', ');
  throw new PatientImportError(`NHS numbers already held by PDS: ${list}${held.length === DUPLICATES_SHOWN ? ' and maybe more' : ''}`);
}

/** Refuses the load when a merged record's survivor is neither held nor loaded, naming the first few (with their lines when staged). */
async function refuseMissingSurvivors(tx: Transaction, loaded: 'pds_patient' | 'pds_import'): Promise<void> {
  const line = loaded === 'pds_import' ? 'line' : 'null::integer as line';
  const orphans = await tx.unsafe<{ line: number | null; nhs_number: string; superseded_by: string }[]>(`select ${line}, nhs_number, superseded_by from ${loaded} loaded
    where superseded_by is not null and not exists (select 1 from pds_patient where pds_patient.nhs_number = loaded.superseded_by) order by nhs_number limit ${DUPLICATES_SHOWN}`);
  if (orphans.length === 0) return;
  const list = orphans.map((row) => `${row.nhs_number}${row.line === null ? '' : ` (line ${row.line})`} replaced by ${row.superseded_by}`).join(', ');
  throw new PatientImportError(`merged records whose survivor PDS does not hold: ${list}`);
}

async function isEmpty(tx: Transaction): Promise<boolean> {
  const [row] = await tx<{ empty: boolean }[]>`select not exists (select 1 from pds_patient) as empty`;
  return row?.empty ?? false;
}

/**
 * Drops pds_patient's primary key, its other indexes and the foreign keys that point at it (from
 * tables that are empty too, since the table is), returning how to make them again: the primary key
 * first, which refuses a number given twice, then the indexes, then the foreign keys. COPY then
 * meets no constraint it could break: every check it could fail is made on the line beforehand
 * (an error the server found after the end of a COPY would be lost by the driver).
 */
async function dropIndexesAndKeys(tx: Transaction, { keys }: { keys: boolean }): Promise<string[]> {
  type Constraint = { owner: string; name: string; definition: string };
  const foreignKeys = !keys ? [] : await tx<Constraint[]>`select conrelid::regclass::text as owner, quote_ident(conname) as name, pg_get_constraintdef(oid) as definition
    from pg_constraint where confrelid = 'pds_patient'::regclass and contype = 'f' order by conrelid, conname`;
  const primaryKeys = !keys ? [] : await tx<Constraint[]>`select 'pds_patient' as owner, quote_ident(conname) as name, pg_get_constraintdef(oid) as definition
    from pg_constraint where conrelid = 'pds_patient'::regclass and contype = 'p'`;
  const indexes = await tx<{ name: string; definition: string }[]>`select indexname as name, indexdef as definition from pg_indexes
    where schemaname = current_schema() and tablename = 'pds_patient'
      and indexname not in (select conname from pg_constraint where conrelid = 'pds_patient'::regclass)`;
  for (const key of foreignKeys) await tx.unsafe(`alter table ${key.owner} drop constraint ${key.name}`);
  for (const key of primaryKeys) await tx.unsafe(`alter table pds_patient drop constraint ${key.name}`);
  for (const index of indexes) await tx`drop index ${tx(index.name)}`;
  const add = (key: Constraint) => `alter table ${key.owner} add constraint ${key.name} ${key.definition}`;
  return [...primaryKeys.map(add), ...indexes.map((index) => index.definition), ...foreignKeys.map(add)];
}

/** A time as PostgreSQL reads it back the same (years 1 to 9999), or undefined. */
function instant(value: string): string | undefined {
  const time = Date.parse(value);
  if (Number.isNaN(time)) return undefined;
  const iso = new Date(time).toISOString();
  return /^\d{4}-/.test(iso) && iso >= '0001' ? iso : undefined;
}

function isUniqueViolation(error: unknown): error is { code: string; detail?: string } {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
