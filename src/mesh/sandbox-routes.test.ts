// The NHS MESH sandbox's extra endpoints in sandbox mode, called as the sandbox's own tests call
// them (NHSDigital/mesh-sandbox, src/mesh_sandbox/tests/admin.py): resets, mailbox and message
// details, reports, status events, the rich views and /health; and outside sandbox mode, none of them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';

const t = await buildTestApp({ sandbox: true });
const mesh = meshTester(t);
const json = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
  t.app.inject({ method, url, ...(payload === undefined ? {} : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }) });
const inboxOf = async (mailboxId: string) => (await mesh.call({ path: `/${mailboxId}/inbox`, version: 2 })).json<{ messages: string[] }>().messages;
const hex = () => randomBytes(8).toString('hex');

test('resetting one mailbox empties its inbox only; resetting all empties every one', async () => {
  const [one = '', two = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([one, two], [one, two]);
  const toTwo = await mesh.send(one, two, workflowId, 'one to two');
  const toOne = await mesh.send(two, one, workflowId, 'two to one');

  const reset = await json('DELETE', `/messageexchange/admin/reset/${two.toLowerCase()}`);
  assert.equal(reset.statusCode, 200);
  assert.deepEqual(reset.json(), { message: `mailbox ${two} reset` });
  assert.deepEqual(await inboxOf(two), []);
  assert.deepEqual(await inboxOf(one), [toOne], 'what the reset mailbox sent stays');
  assert.equal((await mesh.call({ path: `/${one}/outbox/tracking?messageID=${toTwo}` })).statusCode, 404);

  assert.equal((await json('DELETE', `/messageexchange/admin/reset/NOPE${hex()}`)).statusCode, 404);
  assert.equal((await json('DELETE', '/admin/reset')).statusCode, 200, 'also without the /messageexchange prefix');
  assert.deepEqual(await inboxOf(one), []);
});

test("a mailbox's details, as the sandbox gives them", async () => {
  const response = await json('GET', '/messageexchange/admin/mailbox/X26ABC1');
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { mailbox_id: 'X26ABC1', mailbox_name: 'TESTMB1', billing_entity: 'England', ods_code: 'X26', org_code: 'X26', org_name: '', active: true });
  const missing = await json('GET', '/admin/mailbox/NotAMailboxId');
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { detail: 'mailbox does not exist' });
});

test("a message's details, as the sandbox gives them", async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2, 'X26');
  const workflowId = await mesh.workflow([sender], [recipient]);
  const messageId = await mesh.send(sender, recipient, workflowId, 'Hello World123!', { 'mex-filename': 'helloworld.dat' });
  const response = await json('GET', `/messageexchange/admin/message/${messageId.toLowerCase()}`);
  assert.equal(response.statusCode, 200);
  const message = response.json<Record<string, unknown>>();
  const today = new Date().toISOString().slice(0, 10);
  const expiry = new Date(Date.now() + 5 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  assert.deepEqual(
    { ...message, upload_timestamp: String(message.upload_timestamp).slice(0, 10), expiry_time: String(message.expiry_time).slice(0, 10) },
    {
      checksum: '', chunk_count: 1, content_encoding: '', expiry_time: expiry, filename: 'helloworld.dat', file_size: 15, is_compressed: false, is_encrypted: false,
      local_id: '', message_id: messageId, message_type: 'Data', recipient, recipient_name: 'Test mailbox 2', recipient_ods_code: 'X26', recipient_org_code: 'X26',
      recipient_org_name: 'Test organisation', sender, sender_name: 'Test mailbox 1', sender_ods_code: 'X26', sender_org_code: 'X26', sender_org_name: 'Test organisation',
      status: 'Accepted', status_success: 'SUCCESS', subject: '', upload_timestamp: today, workflow_id: workflowId,
    },
  );
  assert.equal((await json('GET', '/admin/message/notfound')).statusCode, 404);
});

test('a REPORT put into an inbox downloads as a report; a status event puts it back once acknowledged', async () => {
  const [recipient = ''] = await mesh.mailboxes(1);
  const request = {
    mailbox_id: recipient, status: 'error', workflow_id: hex(), code: '21', description: 'my error',
    subject: `my subject ${hex()}`, local_id: `my local id ${hex()}`, file_name: `my filename ${hex()}`, linked_message_id: hex(),
  };
  const created = await json('POST', '/messageexchange/admin/report', request);
  assert.equal(created.statusCode, 200, created.body);
  const messageId = created.json<{ message_id: string }>().message_id;
  assert.deepEqual(await inboxOf(recipient), [messageId]);

  const download = await mesh.call({ path: `/${recipient}/inbox/${messageId}` });
  assert.equal(download.statusCode, 200);
  assert.equal(download.body, '');
  assert.equal(download.headers['content-length'], '0');
  assert.equal(download.headers['mex-to'], recipient);
  assert.equal(download.headers['mex-workflowid'], request.workflow_id);
  assert.equal(download.headers['mex-messagetype'], 'REPORT');
  assert.equal(download.headers['mex-statuscode'], '21');
  assert.equal(download.headers['mex-statusdescription'], 'my error');
  assert.equal(download.headers['mex-filename'], request.file_name);
  assert.equal(download.headers['mex-linkedmsgid'], request.linked_message_id);
  assert.equal(download.headers['mex-localid'], request.local_id);
  assert.equal(download.headers['mex-statussuccess'], 'ERROR');

  const details = (await json('GET', `/messageexchange/admin/message/${messageId}`)).json<Record<string, unknown>>();
  assert.equal(details.linked_msg_id, request.linked_message_id);
  assert.equal(details.message_type, 'Report');
  assert.equal(details.status_code, '21');
  assert.equal(details.status_success, 'ERROR');

  assert.equal((await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${messageId}/status/acknowledged` })).statusCode, 200);
  assert.deepEqual(await inboxOf(recipient), []);
  const event = await json('POST', `/messageexchange/admin/message/${messageId}/event`, { status: 'accepted' });
  assert.equal(event.statusCode, 200);
  assert.deepEqual(await inboxOf(recipient), [messageId], 'accepted again: back in the inbox');
  assert.equal((await json('POST', '/admin/message/NOPE/event', { status: 'accepted' })).statusCode, 404);
  assert.equal((await json('POST', `/admin/message/${messageId}/event`, { status: 'lost' })).statusCode, 400);
});

test('an undeliverable report is a non-delivery report, whatever code it was given', async () => {
  const [recipient = ''] = await mesh.mailboxes(1);
  const request = { mailbox_id: recipient, status: 'undeliverable', workflow_id: hex(), code: '21', description: 'non delivery reason', subject: 'results', linked_message_id: hex() };
  const messageId = (await json('POST', '/messageexchange/admin/report', request)).json<{ message_id: string }>().message_id;
  const details = (await json('GET', `/messageexchange/admin/message/${messageId}`)).json<Record<string, unknown>>();
  assert.equal(details.status, 'Accepted');
  assert.equal(details.status_code, '14');
  assert.equal(details.status_description, 'Message not collected by recipient after 5 days');
  assert.equal(details.subject, 'NDR: results');
  assert.equal((await json('POST', '/messageexchange/admin/report', { ...request, mailbox_id: `NOPE${hex()}` })).statusCode, 404);
});

test('the rich inbox and outbox list every message, newest first, page by page', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const ids: string[] = [];
  for (let n = 0; n < 3; n++) ids.push(await mesh.send(sender, recipient, workflowId, `message ${n}`, { 'mex-localid': `local-${n}` }));
  await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${ids[0] ?? ''}/status/acknowledged` });

  const first = await mesh.call({ path: `/${recipient}/inbox/rich?max_results=2` });
  assert.equal(first.statusCode, 200);
  assert.match(String(first.headers['content-type']), /application\/vnd\.mesh\.v2\+json/);
  const page = first.json<{ valid_at: string; messages: Record<string, unknown>[]; links: { self: string; next?: string } }>();
  assert.deepEqual(page.messages.map((message) => message.message_id), [ids[2], ids[1]]);
  const [newest] = page.messages;
  assert.deepEqual(Object.keys(newest ?? {}).sort(), ['expiry_timestamp', 'local_id', 'message_id', 'message_type', 'recipient', 'recipient_name', 'sender', 'sender_name', 'sent_date', 'status', 'total_chunks', 'workflow_id']);
  assert.equal(newest?.status, 'accepted');
  assert.ok(page.links.next);
  const second = (await mesh.call({ path: page.links.next.replace('/messageexchange', '') })).json<{ messages: { message_id: string; status: string }[]; links: { next?: string } }>();
  assert.deepEqual(second.messages.map((message) => [message.message_id, message.status]), [[ids[0], 'acknowledged']], 'acknowledged messages too');
  assert.equal(second.links.next, undefined);

  const outbox = (await mesh.call({ path: `/${sender}/outbox/rich` })).json<{ messages: Record<string, unknown>[] }>();
  assert.deepEqual(outbox.messages.map((message) => message.message_id), [...ids].reverse());
  assert.equal(outbox.messages[0]?.status_code, '', 'the outbox gives empty strings, not nulls');
  assert.equal(outbox.messages[0]?.local_id, 'local-2');
  assert.equal((await mesh.call({ path: `/${recipient}/outbox/rich` })).json<{ messages: unknown[] }>().messages.length, 0);
  assert.equal((await mesh.call({ path: `/${recipient}/inbox/rich`, as: sender })).statusCode, 403, 'signed in as the mailbox, like every mailbox route');
  assert.equal((await mesh.call({ path: `/${recipient}/inbox/rich?start_time=yesterday` })).statusCode, 400);
});

test('/health answers as the sandbox does', async () => {
  const health = await json('GET', '/health');
  assert.equal(health.statusCode, 200);
  assert.equal(health.json<{ status: string }>().status, 'running');
});

test('outside sandbox mode none of these exist', async () => {
  const live = await buildTestApp();
  const liveMesh = meshTester(live);
  const [mailbox = ''] = await liveMesh.mailboxes(1);
  for (const [method, url] of [['GET', '/health'], ['DELETE', '/messageexchange/admin/reset'], ['DELETE', `/admin/reset/${mailbox}`], ['GET', '/messageexchange/admin/mailbox/X26ABC1'], ['POST', '/messageexchange/admin/report']] as const) {
    const response = await live.app.inject({ method, url, headers: await live.adminHeaders(), ...(method === 'POST' ? { payload: '{}' } : {}) });
    assert.equal(response.statusCode, 404, `${method} ${url}`);
  }
  assert.equal((await liveMesh.call({ path: `/${mailbox}/inbox/rich` })).statusCode, 404, 'rich is no message of the inbox');
});
