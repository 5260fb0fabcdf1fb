// The OpenSpine processes sharing one database, each known by a heartbeat row in platform_process
// (migration 0014): how many are running, for limits meant for the whole service, which each
// process then applies to its share (an application's rate limit), and for /_status.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Database } from './db/connect.ts';

export type Cluster = {
  /** The processes alive at the last heartbeat, this one included (at least 1). */
  size: () => number;
  /** Leaves: the row goes, so the others' share grows at their next heartbeat. */
  leave: () => Promise<void>;
};

export const HEARTBEAT_MS = 5_000;
/** A process not seen for three heartbeats is taken for dead (killed, or cut off from the database). */
const ALIVE_WITHIN_HEARTBEATS = 3;
/** Rows of the dead are kept a while, for an operator to see what stopped, then deleted. */
const FORGOTTEN_AFTER_HEARTBEATS = 60;

/** A cluster of one, for a process that shares its database with no other (the tests, the CLI). */
export const ALONE: Cluster = { size: () => 1, leave: async () => undefined };

export async function joinCluster(db: Database, log: Logger, options: { heartbeatMs?: number } = {}): Promise<Cluster> {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const id = randomUUID();
  await db`insert into platform_process (id, host, pid) values (${id}, ${hostname()}, ${process.pid})`;
  let size = 1;
  const beat = async () => {
    const aliveWithin = `${(heartbeatMs * ALIVE_WITHIN_HEARTBEATS) / 1000} seconds`;
    const forgottenAfter = `${(heartbeatMs * FORGOTTEN_AFTER_HEARTBEATS) / 1000} seconds`;
    const [, , [row]] = await Promise.all([
      // Re-inserted if an operator (or a long stall) removed it.
      db`insert into platform_process (id, host, pid) values (${id}, ${hostname()}, ${process.pid}) on conflict (id) do update set seen_at = now()`,
      db`delete from platform_process where seen_at < now() - ${forgottenAfter}::interval`,
      db<{ alive: number }[]>`select count(*)::int as alive from platform_process where seen_at >= now() - ${aliveWithin}::interval`,
    ]);
    size = Math.max(1, row?.alive ?? 1);
  };
  await beat();
  let beating: Promise<void> | undefined;
  const timer = setInterval(() => {
    beating ??= beat()
      .catch((error: unknown) => log.warn({ err: error }, 'cluster heartbeat failed; keeping the last known process count'))
      .finally(() => (beating = undefined));
  }, heartbeatMs);
  timer.unref();
  return {
    size: () => size,
    async leave() {
      clearInterval(timer);
      await beating; // or it would put the row back
      await db`delete from platform_process where id = ${id}`;
    },
  };
}
