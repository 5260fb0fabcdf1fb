// Processes on one database see each other by their heartbeats; one that leaves, or stops beating
// (killed), is no longer counted, and its row is eventually forgotten.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createTestDatabase } from '../../test/support/database.ts';
import { joinCluster } from './cluster.ts';
import { waitFor } from '../../test/support/wait.ts';

const { db } = await createTestDatabase();
const log = pino({ level: 'silent' });

test('two processes count two; one leaving, the other counts one at its next heartbeat', async () => {
  const first = await joinCluster(db, log, { heartbeatMs: 50 });
  const second = await joinCluster(db, log, { heartbeatMs: 50 });
  await waitFor(() => first.size() === 2);
  assert.equal(second.size(), 2);
  await second.leave();
  await waitFor(() => first.size() === 1);
  await first.leave();
  assert.equal((await db`select id from platform_process`).length, 0);
});

test('a process killed without leaving stops counting after three missed heartbeats, and its row goes later', async () => {
  // Seen a second ahead, so that it surely still counts at the survivor's first heartbeat, however busy the machine.
  await db`insert into platform_process (id, host, pid, seen_at) values (gen_random_uuid(), 'killed', 1, now() + interval '1 second')`;
  await db`insert into platform_process (id, host, pid, seen_at) values (gen_random_uuid(), 'long-gone', 2, now() - interval '1 hour')`;
  const survivor = await joinCluster(db, log, { heartbeatMs: 50 });
  assert.equal(survivor.size(), 2, 'the killed one still counts for now');
  await waitFor(() => survivor.size() === 1);
  await waitFor(async () => (await db`select 1 from platform_process where host = 'long-gone'`).length === 0);
  await survivor.leave();
});
