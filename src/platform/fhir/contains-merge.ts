// Merges the contains index's pending list a few times a second, so that the insert that would
// otherwise find it full, and merge it while its client waits, rarely does
// (migrations/0025_fhir_contains_merge.sql).
import type { Logger } from 'pino';
import type { Queryable } from '../db/connect.ts';
import { runPeriodically, type PeriodicJob } from '../periodic.ts';

/** Often enough that the list (4 MB by default) never fills between merges at thousands of creates a second. */
export const CONTAINS_MERGE_INTERVAL_MS = 200;

/** Merges the pending list now; the number of its pages merged. */
export async function mergeContainsPending(db: Queryable): Promise<number> {
  const [row] = await db<{ pages: bigint }[]>`select fhir_merge_contains_pending() as pages`;
  return Number(row?.pages ?? 0);
}

export function mergeContainsPendingPeriodically(db: Queryable, log: Logger): PeriodicJob {
  return runPeriodically({
    name: "merging the contains index's pending list",
    intervalMs: CONTAINS_MERGE_INTERVAL_MS,
    log,
    work: async () => void (await mergeContainsPending(db)),
  });
}
