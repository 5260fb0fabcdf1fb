// MESH's sweep, run in the server on a timer with nobody watching (../shared/specs/mesh/specification/
// mesh-api.yaml, "Message expiration"): a message not acknowledged within five days leaves the inbox
// and its sender gets a REPORT (code 14); every message is deleted 30 days after it was sent; uploads
// given up part way are removed. Every step works in short transactions of bounded batches.
import type { Logger } from 'pino';
import type { Database, Transaction } from '../platform/db/connect.ts';
import { runPeriodically, type PeriodicJob } from '../platform/periodic.ts';
import { deleteExpiredNonces } from './directory-store.ts';
import { UNDELIVERED, nonDeliveryReport } from './report.ts';
import { insertMessages } from './store.ts';
import { deleteMessages, deleteSomeParts, lockAbandonedUploads, lockExpiredInboxMessages, lockMessagesPastRetention, markUndeliverable } from './sweep-store.ts';

/** An upload that has received nothing for this long is given up (a chunk of 100 MB takes minutes, not a day). */
export const UPLOAD_ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;

export type SweepLimits = {
  /** Messages expired (and REPORTs written) per transaction. */
  expiryBatch: number;
  /** Messages deleted per transaction. */
  deletionBatch: number;
  /** Body parts (1 MiB each) deleted per transaction, so that one huge message is deleted in many. */
  partBatch: number;
};

export const DEFAULT_SWEEP_LIMITS: SweepLimits = { expiryBatch: 500, deletionBatch: 100, partBatch: 256 };

export type SweepResult = {
  /** Messages taken out of inboxes unacknowledged, by workflow. */
  expired: Map<string, number>;
  reports: number;
  deleted: number;
  abandonedUploads: number;
};

export type SweepDeps = { db: Database; now: () => Date; limits?: Partial<SweepLimits> };

/** One full sweep: expiry first (so that a message is reported before it can be deleted), then deletions. */
export async function sweepMesh(deps: SweepDeps): Promise<SweepResult> {
  const limits = { ...DEFAULT_SWEEP_LIMITS, ...deps.limits };
  const now = deps.now();
  const result: SweepResult = { expired: new Map(), reports: 0, deleted: 0, abandonedUploads: 0 };
  for (;;) {
    const batch = await expireInboxBatch(deps.db, now, limits.expiryBatch);
    for (const [workflowId, count] of batch.expired) result.expired.set(workflowId, (result.expired.get(workflowId) ?? 0) + count);
    result.reports += batch.reports;
    if (batch.size < limits.expiryBatch) break;
  }
  result.deleted = await deleteInBatches(deps.db, (tx) => lockMessagesPastRetention(tx, now, limits.deletionBatch), limits.partBatch);
  const cutoff = new Date(now.getTime() - UPLOAD_ABANDONED_AFTER_MS);
  result.abandonedUploads = await deleteInBatches(deps.db, (tx) => lockAbandonedUploads(tx, cutoff, limits.deletionBatch), limits.partBatch);
  await deleteExpiredNonces(deps.db, now);
  return result;
}

/**
 * One transaction: locks a batch of expired messages (skipping any another sweep holds), marks them
 * undeliverable and delivers a REPORT for each DATA message to its sender. Committed together or not
 * at all, and never twice: a message once marked is no longer accepted, so no sweep takes it again.
 * A REPORT left unacknowledged leaves its inbox too, with no report of the report.
 */
async function expireInboxBatch(db: Database, now: Date, limit: number): Promise<{ size: number; expired: Map<string, number>; reports: number }> {
  return db.begin(async (tx) => {
    const messages = await lockExpiredInboxMessages(tx, now, limit);
    if (messages.length === 0) return { size: 0, expired: new Map<string, number>(), reports: 0 };
    await markUndeliverable(tx, messages.map((message) => message.messageId), now, UNDELIVERED);
    const reports = messages.filter((message) => message.messageType === 'DATA').map((message, index) => nonDeliveryReport(message, now, index));
    await insertMessages(tx, reports);
    const expired = new Map<string, number>();
    for (const message of messages) expired.set(message.workflowId, (expired.get(message.workflowId) ?? 0) + 1);
    return { size: messages.length, expired, reports: reports.length };
  });
}

/**
 * Deletes the messages each `lockBatch` finds, a batch at a time: their parts go a few hundred per
 * transaction, then the messages themselves, so that neither a backlog nor one message of many GB
 * makes one giant transaction. Returns how many messages were deleted.
 */
async function deleteInBatches(db: Database, lockBatch: (tx: Transaction) => Promise<string[]>, partBatch: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const step = await db.begin(async (tx) => {
      const messageIds = await lockBatch(tx);
      if (messageIds.length === 0) return { found: false, deleted: 0 };
      const parts = await deleteSomeParts(tx, messageIds, partBatch);
      // More parts may be left: their messages are found again by the next batch.
      return { found: true, deleted: parts < partBatch ? await deleteMessages(tx, messageIds) : 0 };
    });
    if (!step.found) return deleted;
    deleted += step.deleted;
  }
}

export type SweeperOptions = {
  db: Database;
  now: () => Date;
  log: Logger;
  intervalMs: number;
  limits?: Partial<SweepLimits>;
  /** Told of each sweep that did something (the metrics count its expiries). */
  onSwept?: (result: SweepResult) => void;
};

export type Sweeper = PeriodicJob;

/** Sweeps every `intervalMs`, the first one interval after the start; a failed sweep is logged and tried again next time. */
export function startSweeper(options: SweeperOptions): Sweeper {
  return runPeriodically({
    name: 'MESH sweep',
    intervalMs: options.intervalMs,
    log: options.log,
    work: async () => {
      const result = await sweepMesh({ db: options.db, now: options.now, ...(options.limits ? { limits: options.limits } : {}) });
      const expired = [...result.expired.values()].reduce((sum, count) => sum + count, 0);
      if (expired + result.deleted + result.abandonedUploads > 0) {
        options.log.info({ expired, reports: result.reports, deleted: result.deleted, abandonedUploads: result.abandonedUploads }, 'MESH sweep');
      }
      options.onSwept?.(result);
    },
  });
}
