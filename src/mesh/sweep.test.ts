// The sweep, with a clock moved forward: a message left unacknowledged for five days leaves the inbox
// and its sender gets one REPORT (code 14), however many sweeps run at once; everything goes 30 days
// after it was sent, in small transactions; abandoned uploads go after a day; and the server's own
// timer runs the sweep with nobody calling it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester, V2 } from '../../test/support/mesh.ts';
import { connectDatabase, type Database } from '../platform/db/connect.ts';
import { createMeshService } from './index.ts';
import { UNDELIVERED } from './report.ts';
import { INBOX_LIFETIME_MS, RETENTION_MS } from './send.ts';
import { UPLOAD_ABANDONED_AFTER_MS, sweepMesh } from './sweep.ts';
import { lockExpiredInboxMessages } from './sweep-store.ts';
import { waitFor } from '../../test/support/wait.ts';
import { ALONE } from '../platform/cluster.ts';

const t = await buildTestApp();
const mesh = meshTester(t);
const MINUTE = 60_000;
const later = (ms: number) => () => new Date(Date.now() + ms);

const statusOf = async (db: Database, messageId: string) => (await db<{ status: string }[]>`select status from mesh_message where message_id = ${messageId}`)[0]?.status;
const reportsOf = (db: Database, messageIds: string[]) =>
  db<{ message_id: string; linked_message_id: string; recipient_id: string }[]>`
    select message_id, linked_message_id, recipient_id from mesh_message where message_type = 'REPORT' and linked_message_id = any(${messageIds})`;
const inbox = async (mailboxId: string) => (await mesh.call({ path: `/${mailboxId}/inbox`, version: 2 })).json<{ messages: string[] }>().messages;

test('a message unacknowledged for five days leaves the inbox, and its sender gets a REPORT with code 14 once', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const messageId = await mesh.send(sender, recipient, workflowId, 'never collected', { 'mex-localid': 'local-1', 'mex-subject': 'results' });
  const acknowledgedId = await mesh.send(sender, recipient, workflowId, 'collected');
  await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${acknowledgedId}/status/acknowledged`, version: 2 });

  const early = await sweepMesh({ db: t.db, now: later(INBOX_LIFETIME_MS - MINUTE) });
  assert.equal(early.reports, 0, 'four days and 23 hours: still in the inbox');
  assert.deepEqual(await inbox(recipient), [messageId]);

  const swept = await sweepMesh({ db: t.db, now: later(INBOX_LIFETIME_MS + MINUTE) });
  assert.equal(swept.expired.get(workflowId), 1);
  assert.deepEqual(await inbox(recipient), [], 'out of the inbox');
  assert.equal((await mesh.call({ path: `/${recipient}/inbox/${messageId}`, version: 2 })).statusCode, 410);
  assert.equal(await statusOf(t.db, acknowledgedId), 'acknowledged', 'an acknowledged message is no business of the sweep');

  const tracked = (await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${messageId}`, version: 2 })).json<Record<string, unknown>>();
  assert.equal(tracked.status, 'undeliverable');
  assert.equal(tracked.status_code, '14');
  assert.equal(tracked.status_success, false);

  const [reportId = ''] = await inbox(sender);
  const report = await mesh.call({ path: `/${sender}/inbox/${reportId}`, version: 2 });
  assert.equal(report.statusCode, 200);
  assert.equal(report.body, '', 'a REPORT has no body');
  assert.equal(report.headers['mex-messagetype'], 'REPORT');
  assert.equal(report.headers['mex-linkedmsgid'], messageId);
  assert.equal(report.headers['mex-to'], recipient, 'Mex-To: the intended receiver of the undelivered message (the spec\'s error report headers)');
  assert.equal(report.headers['mex-statussuccess'], 'ERROR');
  assert.equal(report.headers['mex-statusevent'], 'SEND');
  assert.equal(report.headers['mex-statuscode'], '14');
  assert.equal(report.headers['mex-statusdescription'], UNDELIVERED.description);
  assert.equal(report.headers['mex-workflowid'], workflowId);
  assert.equal(report.headers['mex-localid'], 'local-1');
  assert.equal(report.headers['mex-subject'], 'results');

  const again = await sweepMesh({ db: t.db, now: later(INBOX_LIFETIME_MS + 2 * MINUTE) });
  assert.equal(again.reports, 0, 'a second sweep reports nothing twice');
  assert.equal((await reportsOf(t.db, [messageId])).length, 1);

  // The REPORT itself, left unacknowledged, leaves the sender's inbox without a report of its own.
  const reportSweep = await sweepMesh({ db: t.db, now: later(2 * INBOX_LIFETIME_MS + MINUTE) });
  assert.equal(reportSweep.reports, 0);
  assert.equal(await statusOf(t.db, reportId), 'undeliverable');
  assert.deepEqual(await inbox(sender), []);
});

test('two sweeps at once, as two processes would run them, write one REPORT per expired message', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const messageIds: string[] = [];
  for (let n = 0; n < 40; n++) messageIds.push(await mesh.send(sender, recipient, workflowId, `message ${n}`));

  const processes = [connectDatabase(t.databaseUrl, { max: 2 }), connectDatabase(t.databaseUrl, { max: 2 })];
  try {
    const now = later(INBOX_LIFETIME_MS + MINUTE);
    const results = await Promise.all(processes.map((db) => sweepMesh({ db, now, limits: { expiryBatch: 3 } })));
    assert.equal(results.reduce((sum, result) => sum + result.reports, 0), 40, 'the two sweeps shared the work and neither did any twice');
  } finally {
    await Promise.all(processes.map((db) => db.end()));
  }
  const reports = await reportsOf(t.db, messageIds);
  assert.equal(reports.length, 40);
  assert.deepEqual(new Set(reports.map((report) => report.linked_message_id)), new Set(messageIds), 'one REPORT for each message');
  assert.ok(reports.every((report) => report.recipient_id === sender));
  for (const messageId of messageIds) assert.equal(await statusOf(t.db, messageId), 'undeliverable');
});

test('a sweep passes over the messages another sweep has in hand instead of waiting for them', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const messageIds: string[] = [];
  for (let n = 0; n < 6; n++) messageIds.push(await mesh.send(sender, recipient, workflowId, `message ${n}`));
  const now = later(INBOX_LIFETIME_MS + MINUTE);
  const other = connectDatabase(t.databaseUrl, { max: 1 });
  try {
    await other.begin(async (tx) => {
      // Another process's sweep, part way through its batch of the two oldest.
      const held = await lockExpiredInboxMessages(tx, now(), 2);
      assert.deepEqual(held.map((message) => message.messageId), messageIds.slice(0, 2));
      const meanwhile = await sweepMesh({ db: t.db, now });
      assert.equal(meanwhile.reports, 4, 'the four not held, at once');
    });
  } finally {
    await other.end();
  }
  assert.equal((await sweepMesh({ db: t.db, now })).reports, 2, 'the two held, once let go');
  assert.equal((await reportsOf(t.db, messageIds)).length, 6);
});

test('30 days after it was sent a message is deleted with its body, a few parts per transaction', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const big = await mesh.send(sender, recipient, workflowId, Buffer.alloc(2.5 * 1024 * 1024, 7)); // three parts of 1 MiB
  const small = [await mesh.send(sender, recipient, workflowId, 'one'), await mesh.send(sender, recipient, workflowId, 'two')];
  const ids = [big, ...small];
  const partsOf = async () => (await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message_part where message_id = any(${ids})`)[0]?.count;
  assert.equal(await partsOf(), 5);

  const kept = await sweepMesh({ db: t.db, now: later(RETENTION_MS - MINUTE), limits: { deletionBatch: 2, partBatch: 1 } });
  assert.equal(kept.deleted, 0);
  assert.equal(await statusOf(t.db, big), 'undeliverable', 'expired at five days, kept until thirty');

  const swept = await sweepMesh({ db: t.db, now: later(RETENTION_MS + MINUTE), limits: { deletionBatch: 2, partBatch: 1 } });
  assert.ok(swept.deleted >= 3, `deleted ${swept.deleted}`);
  for (const messageId of ids) assert.equal(await statusOf(t.db, messageId), undefined);
  assert.equal(await partsOf(), 0);
  assert.equal((await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message_chunk where message_id = any(${ids})`)[0]?.count, 0);
  const tracked = await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${big}`, version: 2 });
  assert.equal(tracked.statusCode, 404, 'gone for its sender too');
});

test('an upload given up part way is removed a day after its last chunk', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const messageId = await mesh.send(sender, recipient, workflowId, 'chunk 1 of 2', { 'mex-chunk-range': '1:2' });
  assert.equal(await statusOf(t.db, messageId), 'uploading');

  await sweepMesh({ db: t.db, now: later(UPLOAD_ABANDONED_AFTER_MS - MINUTE) });
  assert.equal(await statusOf(t.db, messageId), 'uploading', 'within a day the sender may still send chunk 2');
  const swept = await sweepMesh({ db: t.db, now: later(UPLOAD_ABANDONED_AFTER_MS + MINUTE) });
  assert.equal(swept.abandonedUploads, 1);
  assert.equal(await statusOf(t.db, messageId), undefined);
  assert.equal((await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message_part where message_id = ${messageId}`)[0]?.count, 0);
  const late = await mesh.call({ method: 'POST', path: `/${sender}/outbox/${messageId}/2`, version: 2, headers: { 'mex-chunk-range': '2:2', 'content-type': 'application/octet-stream' }, payload: 'too late' });
  assert.equal(late.statusCode, 404);
});

test("the server's timer sweeps with nobody calling it, and stops when the server closes", async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const first = await mesh.send(sender, recipient, workflowId, 'left in the inbox');

  // A second server on the same database, its clock six days on and its sweep every 20 ms.
  const server = Fastify();
  const clock = later(INBOX_LIFETIME_MS + 24 * 60 * MINUTE);
  await createMeshService({ now: clock, sweepIntervalMs: 20 }).register(server, { db: t.db, config: t.config, log: pino({ level: 'silent' }), metrics: new Registry(), cluster: ALONE });
  await server.ready();
  await waitFor(async () => (await statusOf(t.db, first)) === 'undeliverable');
  assert.equal((await reportsOf(t.db, [first])).length, 1);

  await server.close();
  const second = await mesh.send(sender, recipient, workflowId, 'sent after the close');
  await new Promise((resolve) => setTimeout(resolve, 200)); // ten intervals of a timer that must be gone
  assert.equal(await statusOf(t.db, second), 'accepted');
});

test('the inbox listing shows only what the sweep left', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const old = await mesh.send(sender, recipient, workflowId, 'old');
  await sweepMesh({ db: t.db, now: later(INBOX_LIFETIME_MS + MINUTE) });
  const fresh = await mesh.send(sender, recipient, workflowId, 'fresh');
  const listing = (await mesh.call({ path: `/${recipient}/inbox`, headers: { accept: V2 } })).json<{ messages: string[]; approx_inbox_count: number }>();
  assert.deepEqual(listing.messages, [fresh]);
  assert.equal(listing.approx_inbox_count, 1);
  assert.notEqual(old, fresh);
});
