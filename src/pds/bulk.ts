// Bulk load and export of PDS records as NDJSON (FHIR Bulk Data: one Patient per line). A load is
// all or nothing: COPY into a temporary table, then one transaction moves the rows and checks them.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Patient } from '@medplum/fhirtypes';
import type { Database, Transaction } from '../platform/db/connect.ts';
import { NHS_NUMBER_SYSTEM, isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { searchKeysOf } from './search-keys.ts';

const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
/** Lines gathered into one write to the COPY stream, and between progress reports. */
const LINES_PER_CHUNK = 2000;
const EXPORT_BATCH = 2000;
const DUPLICATES_SHOWN = 5;
const STAGING_COLUMNS = 'line, nhs_number, version_id, last_updated, record, restricted, family, given, family_phonetic, given_phonetic, gender, birth_date, death_date, postcode, gp_ods, email, phone';
const PATIENT_COLUMNS = STAGING_COLUMNS.split(', ').slice(1).join(', ');
const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;
/**
 * From this many records a load drops the secondary indexes and builds them again after the
 * rows are in: one sort per index is several times faster than a million index insertions.
 */
const REBUILD_INDEXES_FROM = 100_000;
/** Memory for each index build of a large load (the server's default is 64 MB). */
const INDEX_BUILD_MEMORY = '256MB';

export type BulkProgress = { phase: 'loading' | 'moving' | 'indexing' | 'verifying' | 'exporting'; records: number; bytes: number };
export type BulkSummary = { records: number; checksum: string };
type Options = { onProgress?: (progress: BulkProgress) => void };
type ImportOptions = Options & { rebuildIndexesFrom?: number };

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
 * Loads the NDJSON patients in one transaction: every line or none. NHS numbers already held, or
 * given twice, refuse the whole load (a load adds records; it never overwrites one). The rows
 * written are checked against what was read (count and checksum) before the commit.
 * A load of REBUILD_INDEXES_FROM records or more rebuilds the table's indexes, which needs the
 * table's owner (the CLI's login) and makes reads and searches wait while the rows move in.
 */
export async function importPatients(db: Database, input: Readable, options: ImportOptions = {}): Promise<BulkSummary> {
  return db.begin(async (tx) => {
    await tx.unsafe(`create temporary table pds_import (line integer not null, nhs_number text not null, version_id integer not null, last_updated timestamptz,
      record json not null, restricted boolean not null, family text collate "C" not null, given text collate "C" not null, family_phonetic text not null,
      given_phonetic text not null, gender text, birth_date date, death_date date, postcode text collate "C", gp_ods text, email text, phone text) on commit drop`);
    const read = await stageLines(tx, input, options);
    options.onProgress?.({ phase: 'moving', records: read.records, bytes: read.bytes });
    await tx`analyze pds_import`;
    await refuseHeldNumbers(tx);
    const rebuilt = read.records >= (options.rebuildIndexesFrom ?? REBUILD_INDEXES_FROM) ? await dropSecondaryIndexes(tx) : [];
    try {
      await tx.unsafe(`insert into pds_patient (${PATIENT_COLUMNS})
        select nhs_number, version_id, coalesce(last_updated, now()), ${PATIENT_COLUMNS.split(', ').slice(3).join(', ')} from pds_import order by nhs_number`);
    } catch (error) {
      // The numbers held before were refused above: a clash now is a number given twice in the file.
      if (isUniqueViolation(error)) throw new PatientImportError(`an NHS number is given more than once in the file (${error.detail ?? ''})`);
      throw error;
    }
    if (rebuilt.length > 0) {
      options.onProgress?.({ phase: 'indexing', records: read.records, bytes: read.bytes });
      await tx.unsafe(`set local maintenance_work_mem = '${INDEX_BUILD_MEMORY}'`);
      for (const definition of rebuilt) await tx.unsafe(definition);
    }
    options.onProgress?.({ phase: 'verifying', records: read.records, bytes: read.bytes });
    const [written] = await tx.unsafe<BulkSummary[]>(`select ${CHECKSUM_SQL} from pds_patient where nhs_number in (select nhs_number from pds_import)`);
    if (written?.records !== read.records || written.checksum !== read.checksum) {
      throw new PatientImportError(`the check after loading failed: read ${read.records} records (checksum ${read.checksum}), the table holds ${written?.records ?? 0} of them (checksum ${written?.checksum ?? ''})`);
    }
    return { records: read.records, checksum: read.checksum };
  });
}

/** Streams every record PDS serves as itself (not invalidated, not merged away) as NDJSON, in NHS number order. */
export async function exportPatients(db: Database, output: Writable, options: Options = {}): Promise<BulkSummary> {
  const checksum = new Checksum();
  let bytes = 0;
  type Row = { nhs_number: string; version_id: number; last_updated: Date; restricted: boolean; record: string };
  const rows = db<Row[]>`select nhs_number, version_id, last_updated, restricted, record::text as record from pds_patient
    where not invalidated and superseded_by is null order by nhs_number`.cursor(EXPORT_BATCH);
  for await (const batch of rows) {
    let chunk = '';
    for (const row of batch) {
      checksum.add(row.nhs_number, row.restricted, row.record);
      chunk += `${JSON.stringify(bulkPatient(row.nhs_number, row.version_id, row.last_updated, row.restricted, row.record))}\n`;
    }
    bytes += Buffer.byteLength(chunk);
    if (!output.write(chunk)) await once(output, 'drain');
    options.onProgress?.({ phase: 'exporting', records: checksum.records, bytes });
  }
  return checksum.summary();
}

/** The record as a Bulk Data line: the NHS number as id, and meta with the version and the confidentiality label. */
function bulkPatient(nhsNumber: string, versionId: number, lastUpdated: Date, restricted: boolean, record: string): Patient {
  const { resourceType: _type, id: _id, meta: _meta, ...rest } = JSON.parse(record) as Patient;
  const label = restricted ? { system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' } : { system: CONFIDENTIALITY_SYSTEM, code: 'U', display: 'unrestricted' };
  return { resourceType: 'Patient', id: nhsNumber, meta: { versionId: String(versionId), lastUpdated: lastUpdated.toISOString(), security: [label] }, ...rest };
}

/**
 * The checksum of a set of records: the sum of the first 64 bits of each one's md5 (of NHS number,
 * restricted flag and record text), so the order does not matter and SQL can compute the same.
 */
const CHECKSUM_SQL = `count(*)::integer as records,
  coalesce(sum(('x' || left(md5(nhs_number || ' ' || restricted::text || ' ' || record::text), 16))::bit(64)::bigint), 0)::text as checksum`;

class Checksum {
  records = 0;
  #sum = 0n;
  add(nhsNumber: string, restricted: boolean, record: string): void {
    const digest = createHash('md5').update(`${nhsNumber} ${restricted} ${record}`).digest('hex');
    this.#sum += BigInt.asIntN(64, BigInt(`0x${digest.slice(0, 16)}`));
    this.records++;
  }
  summary(): BulkSummary {
    return { records: this.records, checksum: this.#sum.toString() };
  }
}

type Staged = BulkSummary & { bytes: number };

/** Reads the lines, checks and keys each, and COPYs them into the temporary table. */
async function stageLines(tx: Transaction, input: Readable, options: Options): Promise<Staged> {
  const copy = await tx.unsafe(`copy pds_import (${STAGING_COLUMNS}) from stdin`).writable();
  const checksum = new Checksum();
  let bytes = 0;
  let lineNumber = 0;
  let chunk = '';
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      bytes += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      chunk += stagingRow(lineNumber, line, checksum);
      if (checksum.records % LINES_PER_CHUNK === 0) {
        if (!copy.write(chunk)) await once(copy, 'drain');
        chunk = '';
        options.onProgress?.({ phase: 'loading', records: checksum.records, bytes });
      }
    }
    copy.end(chunk);
    await once(copy, 'finish');
  } catch (error) {
    copy.destroy();
    throw error;
  }
  options.onProgress?.({ phase: 'loading', records: checksum.records, bytes });
  return { ...checksum.summary(), bytes };
}

/** One line of the file as a row of COPY's text format, or a PatientImportError naming the line. */
function stagingRow(lineNumber: number, line: string, checksum: Checksum): string {
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
    if (value !== undefined && !(FULL_DATE.test(value) && new Date(value).toISOString().startsWith(value))) throw new PatientImportError(`${field} '${value}' is not a full date`, lineNumber);
  }
  const versionId = patient.meta?.versionId === undefined ? 1 : Number(patient.meta.versionId);
  if (!Number.isInteger(versionId) || versionId < 1) throw new PatientImportError(`meta.versionId '${patient.meta?.versionId ?? ''}' is not a positive whole number`, lineNumber);
  const restricted = patient.meta?.security?.some((label) => label.system === CONFIDENTIALITY_SYSTEM && label.code === 'R') ?? false;
  // Stored without id and meta, as PDS stores every record: both are made when it is served.
  const { id: _id, meta, ...stored } = patient;
  const record = JSON.stringify(stored);
  checksum.add(nhsNumber, restricted, record);
  const keys = searchKeysOf(patient);
  const fields = [
    lineNumber, nhsNumber, versionId, meta?.lastUpdated ?? null, record, restricted, keys.family, keys.given, keys.familyPhonetic, keys.givenPhonetic,
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

/** Drops pds_patient's indexes other than its primary key (which finds numbers given twice), returning how to build them again. */
async function dropSecondaryIndexes(tx: Transaction): Promise<string[]> {
  const indexes = await tx<{ name: string; definition: string }[]>`select indexname as name, indexdef as definition from pg_indexes
    where schemaname = current_schema() and tablename = 'pds_patient'
      and indexname not in (select conname from pg_constraint where conrelid = 'pds_patient'::regclass)`;
  for (const index of indexes) await tx`drop index ${tx(index.name)}`;
  return indexes.map((index) => index.definition);
}

function isUniqueViolation(error: unknown): error is { code: string; detail?: string } {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
