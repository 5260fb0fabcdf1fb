// The sweep's look-ups stay index lookups as MESH fills: with 60,000 messages, most of them waiting
// in inboxes for days yet, finding the few expired, past retention or abandoned reads no whole table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { recordQueryPlans } from '../../test/support/query-plans.ts';
import { lockAbandonedUploads, lockExpiredInboxMessages, lockMessagesPastRetention } from './sweep-store.ts';

const ROWS = 60_000;
const { db, url } = await createTestDatabase();
// Sent between five and a half days and a day and a bit ago: the oldest half-day expired from the inbox, 1 in 100 still uploading.
await db`insert into mesh_message (message_id, sender_id, recipient_id, workflow_id, chunk_count, status, status_at, created_at, accepted_at, inbox_expires_at, delete_after)
  select lpad(n::text, 20, '0') || '_ABCDEF', 'MB' || (n % 600 + 1), 'MB' || (n * 7 % 600 + 1), 'WF' || (n % 50), 1,
         case when n % 100 = 0 then 'uploading' when n % 10 = 0 then 'acknowledged' else 'accepted' end,
         sent, sent, sent, sent + interval '5 days', sent + interval '30 days'
  from generate_series(1, ${ROWS}) n, lateral (select now() - interval '5 days 12 hours' + n * interval '1 second' * 6) s(sent)`;
await db`insert into mesh_message_chunk (message_id, chunk_number, upload_id, size, part_count, sha1, received_at)
  select message_id, 1, '00000000-0000-0000-0000-000000000000', 1, 1, 'x', created_at from mesh_message`;
await db`analyze mesh_message`;
await db`analyze mesh_message_chunk`;

const { connection, planOf } = recordQueryPlans(url, db);
const now = new Date();

const QUERIES: Record<string, () => Promise<unknown>> = {
  'expired inbox messages': () => lockExpiredInboxMessages(connection, now, 500),
  'messages past retention': () => lockMessagesPastRetention(connection, now, 100),
  'abandoned uploads': () => lockAbandonedUploads(connection, new Date(now.getTime() - 24 * 60 * 60 * 1000), 100),
};

for (const [name, query] of Object.entries(QUERIES)) {
  test(`the sweep's look-up of ${name} uses an index`, async () => {
    const plan = await planOf(query);
    assert.doesNotMatch(plan, /Seq Scan on mesh_message(_chunk)?\b/, plan);
  });
}
