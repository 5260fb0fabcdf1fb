// The SQL of the audit trail: appending a chained batch under the chain head's lock, reading the
// chain in pages for verification, and the auditors' searches.
import type postgres from 'postgres';
import type { Queryable, Transaction } from '../platform/db/connect.ts';
import type { DateValue } from '../platform/fhir/search-query.ts';
import type { AuditRecord, ChainHead } from './chain.ts';

type RecordRow = {
  sequence: bigint;
  occurred_at: Date;
  request_id: string;
  correlation_id: string | null;
  actor_mode: string | null;
  user_id: string | null;
  role_profile_id: string | null;
  organisation_ods: string | null;
  application_id: string | null;
  service: string;
  interaction: string;
  outcome: AuditRecord['outcome'];
  status: number;
  patient_nhs_numbers: string[];
  resource_ids: string[];
  detail: string | null;
  prev_hash: string;
  hash: string;
};

const COLUMNS = [
  'sequence', 'occurred_at', 'request_id', 'correlation_id', 'actor_mode', 'user_id', 'role_profile_id', 'organisation_ods',
  'application_id', 'service', 'interaction', 'outcome', 'status', 'patient_nhs_numbers', 'resource_ids', 'detail', 'prev_hash', 'hash',
] as const satisfies readonly (keyof RecordRow)[];

const toRecord = (row: RecordRow): AuditRecord => ({
  sequence: Number(row.sequence),
  occurredAt: row.occurred_at,
  requestId: row.request_id,
  correlationId: row.correlation_id,
  actorMode: row.actor_mode,
  userId: row.user_id,
  roleProfileId: row.role_profile_id,
  organisationOds: row.organisation_ods,
  applicationId: row.application_id,
  service: row.service,
  interaction: row.interaction,
  outcome: row.outcome,
  status: row.status,
  patientNhsNumbers: row.patient_nhs_numbers,
  resourceIds: row.resource_ids,
  detail: row.detail,
  prevHash: row.prev_hash,
  hash: row.hash,
});

/**
 * Locks the chain head until the transaction ends: appends from every process queue here. Waiting
 * longer than `timeoutMs` (a process stalled while holding it) fails the append rather than
 * hanging every request of every process.
 */
export async function lockChainHead(tx: Transaction, timeoutMs: number): Promise<ChainHead> {
  const [, [row]] = await Promise.all([
    tx`select set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`,
    tx<{ sequence: bigint; hash: string }[]>`select sequence, hash from audit_chain_head where id = 1 for update`,
  ]);
  if (!row) throw new Error('The audit chain head is missing: has migration 0004_audit run?');
  return { sequence: Number(row.sequence), hash: row.hash };
}

export async function readChainHead(db: Queryable): Promise<ChainHead> {
  const [row] = await db<{ sequence: bigint; hash: string }[]>`select sequence, hash from audit_chain_head where id = 1`;
  if (!row) throw new Error('The audit chain head is missing: has migration 0004_audit run?');
  return { sequence: Number(row.sequence), hash: row.hash };
}

/** The rows of a batch as audit_record's columns, sent as one JSON parameter. */
function recordRows(records: AuditRecord[]) {
  return records.map((record) => ({
    sequence: record.sequence,
    occurred_at: record.occurredAt.toISOString(),
    request_id: record.requestId,
    correlation_id: record.correlationId,
    actor_mode: record.actorMode,
    user_id: record.userId,
    role_profile_id: record.roleProfileId,
    organisation_ods: record.organisationOds,
    application_id: record.applicationId,
    service: record.service,
    interaction: record.interaction,
    outcome: record.outcome,
    status: record.status,
    patient_nhs_numbers: record.patientNhsNumbers,
    resource_ids: record.resourceIds,
    detail: record.detail,
    prev_hash: record.prevHash,
    hash: record.hash,
  }));
}

/**
 * Inserts a batch and moves the head to its last record, sent together (pipelined). The batch
 * goes as one JSON parameter, so every batch size shares one prepared statement.
 */
export async function appendRecords(tx: Transaction, records: AuditRecord[], head: ChainHead): Promise<void> {
  await Promise.all([
    tx`insert into audit_record select * from jsonb_populate_recordset(null::audit_record, ${tx.json(recordRows(records))})`,
    tx`update audit_chain_head set sequence = ${head.sequence}, hash = ${head.hash} where id = 1`,
  ]);
}

/**
 * Appends a batch chained onto `after`, in one statement (one round trip, its own transaction),
 * only if the head is still `after`: false when another process appended in between, and then
 * nothing was written.
 */
export async function appendRecordsAfter(db: Queryable, records: AuditRecord[], after: ChainHead, head: ChainHead): Promise<boolean> {
  const [row] = await db<{ moved: number }[]>`
    with moved as (
      update audit_chain_head set sequence = ${head.sequence}, hash = ${head.hash}
      where id = 1 and sequence = ${after.sequence} and hash = ${after.hash} returning 1
    ), appended as (
      insert into audit_record select * from jsonb_populate_recordset(null::audit_record, ${db.json(recordRows(records))})
      where exists (select 1 from moved)
    )
    select count(*)::int as moved from moved`;
  return row?.moved === 1;
}

/** Records after `after`, up to `upTo`, in sequence order: a keyset page of the primary key. */
export async function readChainPage(db: Queryable, page: { after: number; upTo: number; limit: number }): Promise<AuditRecord[]> {
  const rows = await db<RecordRow[]>`
    select ${db(COLUMNS)} from audit_record
    where sequence > ${page.after} and sequence <= ${page.upTo}
    order by sequence limit ${page.limit}`;
  return rows.map(toRecord);
}

export async function readRecord(db: Queryable, sequence: number): Promise<AuditRecord | undefined> {
  const [row] = await db<RecordRow[]>`select ${db(COLUMNS)} from audit_record where sequence = ${sequence}`;
  return row && toRecord(row);
}

/** An auditor's search: each list, when not empty, is one condition whose values are alternatives. */
export type AuditQuery = {
  patients: string[];
  users: string[];
  organisations: string[];
  /** Every one must hold (a range is two of them). */
  dates: DateValue[];
  count: number;
  offset: number;
};

/** Matching records, newest first; `hasMore` when a further page exists. */
export async function searchRecords(db: Queryable, query: AuditQuery): Promise<{ records: AuditRecord[]; hasMore: boolean }> {
  const conditions: Fragment[] = [];
  // The second condition lets the planner use the partial index of records that name patients.
  if (query.patients.length) conditions.push(db`patient_nhs_numbers && ${query.patients}::text[] and patient_nhs_numbers <> '{}'`);
  if (query.users.length) conditions.push(oneOf(db, 'user_id', query.users));
  if (query.organisations.length) conditions.push(oneOf(db, 'organisation_ods', query.organisations));
  for (const date of query.dates) conditions.push(dateCondition(db, date));
  const where = conditions.reduce((joined, condition) => db`${joined} and ${condition}`, db`true`);
  const page = db`order by occurred_at desc, sequence desc limit ${query.count + 1} offset ${query.offset}`;
  // PostgreSQL cannot estimate how few records name one patient, so for "newest first" it would
  // walk the whole date index filtering on patients. Matching first (the GIN index), then sorting
  // those few, keeps a patient's search proportional to that patient's records.
  const rows = query.patients.length
    ? await db<RecordRow[]>`
        with matches as materialized (select ${db(COLUMNS)} from audit_record where ${where})
        select ${db(COLUMNS)} from matches ${page}`
    : await db<RecordRow[]>`select ${db(COLUMNS)} from audit_record where ${where} ${page}`;
  return { records: rows.slice(0, query.count).map(toRecord), hasMore: rows.length > query.count };
}

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** One value as `=`, so that its index also gives the order (newest first) and the first page stops early. */
function oneOf(db: Queryable, column: 'user_id' | 'organisation_ods', values: string[]): Fragment {
  return values.length === 1 ? db`${db(column)} = ${values[0] ?? ''}` : db`${db(column)} = any(${values}::text[])`;
}

/** The FHIR date prefixes against the instant a record was made: https://hl7.org/fhir/R4/search.html#prefix */
function dateCondition(db: Queryable, { prefix, range }: DateValue): Fragment {
  switch (prefix) {
    case 'eq': return db`occurred_at between ${range.low} and ${range.high}`;
    case 'ne': return db`not (occurred_at between ${range.low} and ${range.high})`;
    case 'gt': return db`occurred_at > ${range.high}`;
    case 'lt': return db`occurred_at < ${range.low}`;
    case 'ge': return db`occurred_at >= ${range.low}`;
    case 'le': return db`occurred_at <= ${range.high}`;
  }
}
