// The audit trail's writer: group commit. Each record() joins a batch, and resolves once the
// transaction that appends its batch to the chain has committed, so a response waits for its own
// record to be durable while thousands of records a second share a few commits. A record nobody
// waits for (`awaited: false`) resolves at once, and is written with the next batch.
import type { Logger } from 'pino';
import type { AuditEntry, AuditSink } from '../platform/audit.ts';
import type { Database } from '../platform/db/connect.ts';
import { chainBlock } from './blocks.ts';
import { auditFields, type AuditFields, type ChainHead } from './chain.ts';
import { MAX_BLOCK_CHARACTERS } from './packing.ts';
import { appendBlockAfter, lockChainHead } from './store.ts';
import { trailMetrics, type TrailObserver } from './trail-metrics.ts';

export type AuditTrail = AuditSink & {
  /** Writes what is pending, then refuses further records. */
  close(): Promise<void>;
};

export type AuditTrailOptions = {
  /** The most records one transaction appends (default 500). */
  maxBatch?: number;
  /**
   * How long the first record of a batch waits for others before it is written. 0 (the default)
   * waits for the next turn of the event loop only: under load, batches form anyway while the
   * append before them is in flight, and each millisecond waited is added to every response.
   */
  maxDelayMs?: number;
  /**
   * How long records nobody waits for (`awaited: false`) are gathered before they are written, unless
   * an awaited record or a full batch comes first (default 5 ms). Such records are answered
   * already; written a few times less often under load, they cost the database and OpenSpine's
   * socket writes less, and a crash can lose at most this much more of them (README, Audit). 20 ms
   * measured worse than 5: batches of 500 came as bursts that delayed the reads around them.
   */
  gatherMs?: number;
  /** How long an append waits for the chain head while another process appends (default 5 s). */
  lockTimeoutMs?: number;
  /**
   * The most records waiting to be written (default 20,000): past it a record is refused (its
   * response gets 503). From half of it the trail is backlogged (AuditSink): every response waits
   * for its record, so that records of answered requests, which a crash would lose, stay few.
   */
  maxPending?: number;
};

// The lock wait matches the 5 s after which the platform tells a refused client to retry.
export const AUDIT_TRAIL_DEFAULTS = { maxBatch: 500, maxDelayMs: 0, gatherMs: 5, lockTimeoutMs: 5_000, maxPending: 20_000 } as const;

/**
 * A pending record: one that a response waits for, with its promise's settlers, or one already
 * answered. The latter holds nothing but its fields, so that nothing of its request (a graph of
 * objects as big as the request) outlives the response while it is gathered; V8 would copy it at
 * each young-generation collection and promote it, a cost measured per request.
 */
type Waiting = { fields: AuditFields; awaited: true; resolve(): void; reject(error: unknown): void } | { fields: AuditFields; awaited: false };

/** What record() gives for a record nobody waits for. */
const ANSWERED = Promise.resolve();

/** A batch whose records' text is past what a block may hold: it is split (append, below). */
class BlockTooBig extends Error {}

/** The block of a batch chained onto `head`, unless its text is past what a block may hold (packing.ts). */
function blockOf(head: ChainHead, fields: AuditFields[]): ReturnType<typeof chainBlock> {
  const chained = chainBlock(head, fields);
  if (chained.block.records.length > MAX_BLOCK_CHARACTERS) throw new BlockTooBig(`${fields.length} records of ${chained.block.records.length} characters`);
  return chained;
}

/**
 * A failure of the records rather than of the database: a batch too big for one block, or a value
 * PostgreSQL refuses (SQLSTATE classes 22, data exception, and 54, a limit passed, as an index key
 * too long). Splitting the batch leaves the fault to the records that hold it.
 */
function isRecordsFault(error: unknown): boolean {
  if (error instanceof BlockTooBig) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(code);
}

export function createAuditTrail(db: Database, log: Logger, options: AuditTrailOptions = {}): AuditTrail {
  const maxBatch = options.maxBatch ?? AUDIT_TRAIL_DEFAULTS.maxBatch;
  const maxDelayMs = options.maxDelayMs ?? AUDIT_TRAIL_DEFAULTS.maxDelayMs;
  const gatherMs = options.gatherMs ?? AUDIT_TRAIL_DEFAULTS.gatherMs;
  const lockTimeoutMs = options.lockTimeoutMs ?? AUDIT_TRAIL_DEFAULTS.lockTimeoutMs;
  const maxPending = options.maxPending ?? AUDIT_TRAIL_DEFAULTS.maxPending;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive whole number, not ${maxBatch}`);
  if (!(maxDelayMs >= 0)) throw new RangeError(`maxDelayMs must be zero or more, not ${maxDelayMs}`);
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 1) throw new RangeError(`lockTimeoutMs must be a positive whole number, not ${lockTimeoutMs}`);
  if (!Number.isInteger(maxPending) || maxPending < 2) throw new RangeError(`maxPending must be a whole number of at least 2, not ${maxPending}`);

  const pending: Waiting[] = [];
  /** How many of the pending records a response waits for. */
  let awaitedPending = 0;
  /** The timer of the next write: soon for an awaited record, after gatherMs for the others. */
  let timer: { cancel(): void; soon: boolean } | undefined;
  /** The one append in flight in this process; records arriving meanwhile form the next batch. */
  let inFlight: Promise<void> | undefined;
  let closed = false;

  /** Told of every append once the trail's metrics are registered. */
  let observer: TrailObserver | undefined;

  /** The head after this process's last append: while no other process appends, the next batch chains onto it in one statement. */
  let lastHead: ChainHead | undefined;

  /** One round trip, when nothing was appended since this process's last append; else false, with nothing written. */
  const appendOntoLastHead = async (fields: AuditFields[]): Promise<boolean> => {
    if (!lastHead) return false;
    const { block, head } = blockOf(lastHead, fields);
    if (!(await appendBlockAfter(db, block, { after: lastHead, head, lockTimeoutMs }))) return false;
    lastHead = head;
    return true;
  };

  /** Locks the head, wherever another process left it, and chains onto it. */
  const appendWithLock = async (fields: AuditFields[]): Promise<void> => {
    lastHead = await db.begin(async (tx) => {
      const locked = await lockChainHead(tx, lockTimeoutMs);
      const { block, head } = blockOf(locked, fields);
      if (!(await appendBlockAfter(tx, block, { after: locked, head, lockTimeoutMs }))) throw new Error('The audit chain head moved while locked');
      return head;
    });
  };

  /**
   * Appends a batch as one block. One that fails for what its records hold (isRecordsFault) is
   * appended as two halves, each so, in order: one record's fault fails that record alone, and a
   * batch too big for a block becomes several blocks.
   */
  const append = async (batch: Waiting[]): Promise<void> => {
    const fields = batch.map((waiting) => waiting.fields);
    const started = performance.now();
    try {
      let how: 'after-own-head' | 'with-lock' = 'after-own-head';
      if (!(await appendOntoLastHead(fields))) {
        how = 'with-lock';
        await appendWithLock(fields);
      }
      observer?.appended(batch.length, (performance.now() - started) / 1000, how);
    } catch (error) {
      if (batch.length > 1 && isRecordsFault(error)) {
        const half = Math.ceil(batch.length / 2);
        await append(batch.slice(0, half));
        await append(batch.slice(half));
        return;
      }
      observer?.failed(batch.length);
      lastHead = undefined;
      const lost = batch.filter((waiting) => !waiting.awaited).map((waiting) => waiting.fields.requestId);
      log.error({ err: error, records: batch.length, lostRequestIds: lost }, 'the audit trail could not append a batch: the requests waiting for it get 503; the records of those already answered (lostRequestIds) are lost');
      for (const waiting of batch) if (waiting.awaited) waiting.reject(error);
      return;
    }
    for (const waiting of batch) if (waiting.awaited) waiting.resolve();
  };

  const flush = (): void => {
    timer?.cancel();
    timer = undefined;
    if (inFlight || pending.length === 0) return;
    const batch = pending.splice(0, maxBatch);
    awaitedPending -= batch.filter((waiting) => waiting.awaited).length;
    // Whatever arrived during the append is written when it ends, as schedule() decides.
    inFlight = append(batch).finally(() => {
      inFlight = undefined;
      schedule();
    });
  };

  const schedule = (): void => {
    if (inFlight || pending.length === 0) return; // the append in flight schedules the next batch when it ends
    if (pending.length >= maxBatch || closed) {
      flush();
      return;
    }
    const soon = awaitedPending > 0;
    if (timer && (timer.soon || !soon)) return;
    timer?.cancel();
    timer = startTimer(soon ? maxDelayMs : gatherMs, soon);
  };

  const startTimer = (delayMs: number, soon: boolean): { cancel(): void; soon: boolean } => {
    if (delayMs === 0) {
      const immediate = setImmediate(flush);
      return { cancel: () => clearImmediate(immediate), soon };
    }
    const timeout = setTimeout(flush, delayMs);
    return { cancel: () => clearTimeout(timeout), soon };
  };

  /** Refuses a record past maxPending: the database is not keeping up, and the trail holds no more. */
  const checkRoom = (): void => {
    if (closed) throw new Error('The audit trail is closed');
    if (pending.length >= maxPending) throw new Error(`The audit trail has ${pending.length} records waiting to be written, the most it holds`);
  };

  return {
    record(entry: AuditEntry, options = {}): Promise<void> {
      if (options.awaited === false) {
        // Never rejects (AuditSink): what cannot be written is logged here.
        try {
          checkRoom();
          pending.push({ fields: auditFields(entry), awaited: false });
          schedule();
        } catch (error) {
          observer?.failed(1);
          log.error({ err: error, requestId: entry.requestId }, 'the audit trail could not take the record of a request already answered');
        }
        return ANSWERED;
      }
      // What the executor throws (closed, or an entry refused by auditFields) rejects this record alone.
      return new Promise<void>((resolve, reject) => {
        checkRoom();
        pending.push({ fields: auditFields(entry), awaited: true, resolve, reject });
        awaitedPending += 1;
        schedule();
      });
    },

    backlogged: () => pending.length >= maxPending / 2,

    registerMetrics(registry) {
      observer = trailMetrics(registry, () => pending.length);
    },

    async close(): Promise<void> {
      closed = true;
      flush();
      while (inFlight) await inFlight;
    },
  };
}
