// The SQL of the audit trail: appending a chained block under the chain head's lock, reading the
// chain in pages of blocks for verification, and the auditors' searches.
import type postgres from 'postgres';
import type { Queryable, Transaction } from '../platform/db/connect.ts';
import { blockRecords, type AuditBlock, type BlockKeys } from './blocks.ts';
import type { AuditRecord, ChainHead } from './chain.ts';
import { AuditErrors } from './errors.ts';
import { packRecords, unpackRecords } from './packing.ts';
import { recordMatches, searchSpan, type AuditQuery, type Span } from './record-match.ts';

/** A block's row as read, before its records are unpacked. */
export type BlockRow = {
  first_sequence: bigint;
  last_sequence: bigint;
  occurred_from: Date;
  occurred_to: Date;
  patients: string[];
  users: string[];
  organisations: string[];
  /** The records' JSON text, in blocks written before they were packed (migrations/0027_audit_packed_blocks.sql). */
  records: string | null;
  /** The records' JSON text compressed (packing.ts). */
  packed: Buffer | null;
  /**
   * Whether occurred_from or occurred_to has a part below the millisecond, which no append writes
   * (its instants are JavaScript's) and a JavaScript Date would not show (readBlockRows only).
   */
  sub_millisecond?: boolean;
};

/** A block as read back: `records` is undefined when its JSON is not records as the trail writes them. */
export type StoredBlock = BlockKeys & { firstSequence: number; lastSequence: number; records: AuditRecord[] | undefined };

export const toStoredBlock = (row: BlockRow): StoredBlock => ({
  firstSequence: Number(row.first_sequence),
  lastSequence: Number(row.last_sequence),
  occurredFrom: row.occurred_from,
  occurredTo: row.occurred_to,
  patients: row.patients,
  users: row.users,
  organisations: row.organisations,
  records: recordsOf(row),
});

/** A block's records, from its text or its packed text; undefined when neither is records as the trail writes them. */
function recordsOf(row: BlockRow): AuditRecord[] | undefined {
  const json = row.records ?? (row.packed ? unpackRecords(row.packed) : undefined);
  return json === undefined ? undefined : blockRecords(json);
}

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
  if (!row) throw AuditErrors.chainHeadMissing();
  return { sequence: Number(row.sequence), hash: row.hash };
}

export async function readChainHead(db: Queryable): Promise<ChainHead> {
  const head = await findChainHead(db);
  if (!head) throw AuditErrors.chainHeadMissing();
  return head;
}

/** The chain head; undefined when its row was deleted (verification reports that, and checks what it still can). */
export async function findChainHead(db: Queryable): Promise<ChainHead | undefined> {
  const [row] = await db<{ sequence: bigint; hash: string }[]>`select sequence, hash from audit_chain_head where id = 1`;
  return row && { sequence: Number(row.sequence), hash: row.hash };
}

/**
 * Appends a block chained onto `after`, in one statement (one round trip), only if the head is
 * still `after`: false when another process appended in between, and then nothing was written.
 * Under the head's lock (lockChainHead) the head is `after` by construction. The statement sets,
 * for its own transaction, how long it may wait for the head's row (another process may hold it:
 * fail rather than hang every response waiting for this append), and a durable commit, whatever
 * the server, role or connection says (synchronous_commit off would answer before the commit is
 * on disk, and so lose what was acknowledged; a stronger setting, remote_apply say, is kept).
 */
export async function appendBlockAfter(db: Queryable, block: AuditBlock, chain: { after: ChainHead; head: ChainHead; lockTimeoutMs: number }): Promise<boolean> {
  const { after, head } = chain;
  const packed = packRecords(block.records);
  const [row] = await db<{ moved: number }[]>`
    with settings as (
      select set_config('lock_timeout', ${`${chain.lockTimeoutMs}ms`}, true),
        set_config('synchronous_commit', case current_setting('synchronous_commit') when 'off' then 'on' else current_setting('synchronous_commit') end, true)
    ), moved as (
      -- The settings are taken before the row is locked: the condition on them is evaluated first.
      update audit_chain_head set sequence = ${head.sequence}, hash = ${head.hash}
      where id = 1 and sequence = ${after.sequence} and hash = ${after.hash} and exists (select from settings) returning 1
    ), appended as (
      insert into audit_block (first_sequence, last_sequence, occurred_from, occurred_to, patients, users, organisations, packed)
      select ${block.firstSequence}, ${block.lastSequence}, ${block.occurredFrom}::timestamptz, ${block.occurredTo}::timestamptz,
        ${block.patients}::text[], ${block.users}::text[], ${block.organisations}::text[], ${packed}
      where exists (select 1 from moved)
    )
    select count(*)::int as moved from moved`;
  return row?.moved === 1;
}

type BlockPage = { after: number; upTo?: number; limit: number };

/** Blocks that start after `after` (and no later than `upTo`, when given), in chain order: a keyset page of the primary key. */
export async function readBlocks(db: Queryable, page: BlockPage): Promise<StoredBlock[]> {
  return (await readBlockRows(db, page)).map(toStoredBlock);
}

/** The same page as readBlocks, its records not yet unpacked (verification unpacks them in other threads). */
export async function readBlockRows(db: Queryable, page: BlockPage): Promise<BlockRow[]> {
  return db<BlockRow[]>`
    select *, (occurred_from <> date_trunc('milliseconds', occurred_from) or occurred_to <> date_trunc('milliseconds', occurred_to)) as sub_millisecond
    from audit_block
    where first_sequence > ${page.after} ${page.upTo === undefined ? db`` : db`and first_sequence <= ${page.upTo}`}
    order by first_sequence limit ${page.limit}`;
}

/**
 * The blocks outside the chain, read in one snapshot with the head (verification reports them):
 * those that start before its first record, 1, or past its head.
 */
export async function blocksOutsideChain(db: Queryable): Promise<BlockSpan[]> {
  const rows = await db<{ first_sequence: bigint; last_sequence: bigint }[]>`
    select first_sequence, last_sequence from audit_block
    where first_sequence < 1 or first_sequence > (select sequence from audit_chain_head where id = 1)
    order by first_sequence`;
  return rows.map((row) => ({ first: Number(row.first_sequence), last: Number(row.last_sequence) }));
}

/** The first sequence of the block that holds `sequence` (or would: the last block starting at or before it); 0 when none does. */
export async function blockHolding(db: Queryable, sequence: number): Promise<number> {
  const [start] = await db<{ first: bigint | null }[]>`select max(first_sequence) as first from audit_block where first_sequence between 1 and ${sequence}`;
  return Number(start?.first ?? 0);
}

/** Blocks read at a time by readRecords. */
const RECORD_PAGE_BLOCKS = 8;

/**
 * Up to `limit` records after `after`, in chain order: the trail a record at a time, as the view
 * `audit_record` gave it before blocks were packed (`openspine audit records`). Blocks are read a
 * few at a time from the one holding `after`, until enough records are read. A block that cannot
 * be read stops it, naming the block: leaving its records out would hide them.
 */
export async function readRecords(db: Queryable, page: { after: number; limit: number }): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  const head = await readChainHead(db);
  let after = (await blockHolding(db, page.after)) - 1;
  while (records.length < page.limit) {
    const blocks = await readBlocks(db, { after, upTo: head.sequence, limit: RECORD_PAGE_BLOCKS });
    for (const block of blocks) {
      if (!block.records) throw new Error(`The audit block of records ${block.firstSequence} to ${block.lastSequence} cannot be read: run \`openspine audit verify\``);
      records.push(...block.records.filter((record) => record.sequence > page.after));
    }
    const last = blocks.at(-1);
    if (!last || blocks.length < RECORD_PAGE_BLOCKS) break;
    after = last.firstSequence;
  }
  return records.slice(0, page.limit);
}

/**
 * The record at `sequence`, when the chain holds it: a block past the head was not written by an
 * append. A block that would hold it but cannot be read is said to be damaged (500), not taken for
 * the record's absence.
 */
export async function readRecord(db: Queryable, sequence: number): Promise<AuditRecord | undefined> {
  if (sequence > (await readChainHead(db)).sequence) return undefined;
  const row = await blockRowHolding(db, sequence);
  if (!row) return undefined;
  const records = recordsOf(row);
  if (!records) throw AuditErrors.blockUnreadable(Number(row.first_sequence), Number(row.last_sequence));
  return records.find((record) => record.sequence === sequence);
}

/** The record at `sequence` as the block that would hold it stores it, whether or not the chain's head reaches it; undefined when that block cannot be read. */
export async function readStoredRecord(db: Queryable, sequence: number): Promise<AuditRecord | undefined> {
  const row = await blockRowHolding(db, sequence);
  return row && recordsOf(row)?.find((record) => record.sequence === sequence);
}

async function blockRowHolding(db: Queryable, sequence: number): Promise<BlockRow | undefined> {
  const [row] = await db<BlockRow[]>`select * from audit_block where first_sequence between 1 and ${sequence} order by first_sequence desc limit 1`;
  return row;
}

/** The last sequence of the newest block; 0 when there is none. */
export async function lastStoredSequence(db: Queryable): Promise<number> {
  const [row] = await db<{ last: bigint }[]>`select last_sequence as last from audit_block order by first_sequence desc limit 1`;
  return Number(row?.last ?? 0);
}

/** Blocks read by a search's first round, newest first; each further round reads twice as many, up to the most. */
const SEARCH_BLOCKS = { first: 4, most: 256 } as const;

/** A block's span of sequences, both ends included. */
export type BlockSpan = { first: number; last: number };

export type SearchAnswer = {
  records: AuditRecord[];
  hasMore: boolean;
  through: number;
  /** The blocks the search needed but could not read (a damaged trail): their records are missing from the answer. */
  unreadable: BlockSpan[];
};

/**
 * Matching records, newest first (in the trail's order); `hasMore` when a further page exists. The
 * blocks whose keys match are read newest first, a few at a time, and their records matched one
 * by one, until the page (after the offset) is full: a search reads what it shows and not much more.
 * A block that cannot be read is passed over, and named in `unreadable` for the answer to say so:
 * one damaged block does not stop every search of the patients it names.
 */
export async function searchRecords(db: Queryable, query: AuditQuery): Promise<SearchAnswer> {
  // Only the chain up to its head is searched: a block past it was not written by an append.
  const head = (await readChainHead(db)).sequence;
  const through = Math.min(query.through ?? head, head);
  const span = searchSpan(query.dates);
  if (!span) return { records: [], hasMore: false, through, unreadable: [] };
  const wanted = query.offset + query.count + 1;
  const matches: AuditRecord[] = [];
  const unreadable: BlockSpan[] = [];
  let before = through + 1;
  for (let blocks: number = SEARCH_BLOCKS.first; ; blocks = Math.min(blocks * 2, SEARCH_BLOCKS.most)) {
    const rows = await matchingBlocks(db, query, span, { before, blocks });
    for (const row of rows) {
      // The rest of the round is past the page: not unpacked, nor said unreadable.
      if (matches.length >= wanted) break;
      before = Number(row.first_sequence);
      const records = recordsOf(row);
      if (!records) {
        unreadable.push({ first: before, last: Number(row.last_sequence) });
        continue;
      }
      for (let index = records.length - 1; index >= 0 && matches.length < wanted; index--) {
        const record = records[index];
        if (record && record.sequence <= through && recordMatches(record, query)) matches.push(record);
      }
    }
    if (matches.length >= wanted || rows.length < blocks) break;
  }
  return { records: matches.slice(query.offset, query.offset + query.count), hasMore: matches.length === wanted, through, unreadable };
}

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** The blocks before `before` whose keys match, newest first. */
async function matchingBlocks(db: Queryable, query: AuditQuery, span: Span, page: { before: number; blocks: number }): Promise<BlockRow[]> {
  const conditions: Fragment[] = [db`true`];
  // The second condition of each lets the planner use the partial index of blocks that name any.
  if (query.patients.length) conditions.push(db`patients && ${query.patients}::text[] and patients <> '{}'`);
  if (query.users.length) conditions.push(db`users && ${query.users}::text[] and users <> '{}'`);
  if (query.organisations.length) conditions.push(db`organisations && ${query.organisations}::text[] and organisations <> '{}'`);
  if (span.from !== null || span.to !== null) {
    const bound = (instant: number | null) => (instant === null ? null : new Date(instant));
    conditions.push(db`tstzrange(occurred_from, occurred_to, '[]') && tstzrange(${bound(span.from)}::timestamptz, ${bound(span.to)}::timestamptz, '[]')`);
  }
  const where = conditions.reduce((joined, condition) => db`${joined} and ${condition}`);
  // A block numbered below 1 is none of the chain's (migrations/0031_audit_block_sequences.sql).
  const window = db`first_sequence < ${page.before} and first_sequence >= 1 order by first_sequence desc limit ${page.blocks}`;
  // PostgreSQL cannot estimate how few blocks name one patient, or lie in a closed span of time, so
  // for "newest first" it would walk the primary key filtering each block. Matching first (the GIN
  // or GiST index), then taking the newest of those few, keeps such a search proportional to what
  // it finds. Only an open-ended span is best served by the walk, which stops at the page's end.
  if (query.patients.length === 0 && (span.from === null || span.to === null)) {
    return db<BlockRow[]>`select * from audit_block where ${where} and ${window}`;
  }
  return db<BlockRow[]>`
    with matches as materialized (select first_sequence from audit_block where ${where})
    select * from audit_block where first_sequence = any(array(select first_sequence from matches where ${window}))
    order by first_sequence desc`;
}
