// The audit trail's writer: group commit. Each record() joins a batch, and resolves once the
// transaction that appends its batch to the chain has committed, so a response waits for its own
// record to be durable while thousands of records a second share a few commits.
import type { Logger } from 'pino';
import type { AuditEntry, AuditSink } from '../platform/audit.ts';
import type { Database } from '../platform/db/connect.ts';
import { chainBlock } from './blocks.ts';
import { auditFields, type AuditFields, type ChainHead } from './chain.ts';
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
  /** How long an append waits for the chain head while another process appends (default 5 s). */
  lockTimeoutMs?: number;
};

// The lock wait matches the 5 s after which the platform tells a refused client to retry.
export const AUDIT_TRAIL_DEFAULTS = { maxBatch: 500, maxDelayMs: 0, lockTimeoutMs: 5_000 } as const;

type Waiting = { fields: AuditFields; resolve(): void; reject(error: unknown): void };

export function createAuditTrail(db: Database, log: Logger, options: AuditTrailOptions = {}): AuditTrail {
  const maxBatch = options.maxBatch ?? AUDIT_TRAIL_DEFAULTS.maxBatch;
  const maxDelayMs = options.maxDelayMs ?? AUDIT_TRAIL_DEFAULTS.maxDelayMs;
  const lockTimeoutMs = options.lockTimeoutMs ?? AUDIT_TRAIL_DEFAULTS.lockTimeoutMs;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive whole number, not ${maxBatch}`);
  if (!(maxDelayMs >= 0)) throw new RangeError(`maxDelayMs must be zero or more, not ${maxDelayMs}`);
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 1) throw new RangeError(`lockTimeoutMs must be a positive whole number, not ${lockTimeoutMs}`);

  const pending: Waiting[] = [];
  let timer: { cancel(): void } | undefined;
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
    const { block, head } = chainBlock(lastHead, fields);
    if (!(await appendBlockAfter(db, block, lastHead, head))) return false;
    lastHead = head;
    return true;
  };

  /** Locks the head, wherever another process left it, and chains onto it. */
  const appendWithLock = async (fields: AuditFields[]): Promise<void> => {
    lastHead = await db.begin(async (tx) => {
      const locked = await lockChainHead(tx, lockTimeoutMs);
      const { block, head } = chainBlock(locked, fields);
      if (!(await appendBlockAfter(tx, block, locked, head))) throw new Error('The audit chain head moved while locked');
      return head;
    });
  };

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
      observer?.failed(batch.length);
      lastHead = undefined;
      log.error({ err: error, records: batch.length }, 'the audit trail could not append a batch; its requests get 503');
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    for (const waiting of batch) waiting.resolve();
  };

  const flush = (): void => {
    timer?.cancel();
    timer = undefined;
    if (inFlight || pending.length === 0) return;
    const batch = pending.splice(0, maxBatch);
    inFlight = append(batch).finally(() => {
      inFlight = undefined;
      // Whatever arrived during the append has waited long enough: write it now.
      if (pending.length > 0) flush();
    });
  };

  const schedule = (): void => {
    if (inFlight) return; // the append in flight takes the next batch when it ends
    if (pending.length >= maxBatch) flush();
    else timer ??= startTimer();
  };

  const startTimer = (): { cancel(): void } => {
    if (maxDelayMs === 0) {
      const immediate = setImmediate(flush);
      return { cancel: () => clearImmediate(immediate) };
    }
    const timeout = setTimeout(flush, maxDelayMs);
    return { cancel: () => clearTimeout(timeout) };
  };

  return {
    async record(entry: AuditEntry): Promise<void> {
      if (closed) throw new Error('The audit trail is closed');
      const fields = auditFields(entry);
      return new Promise<void>((resolve, reject) => {
        pending.push({ fields, resolve, reject });
        schedule();
      });
    },

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
