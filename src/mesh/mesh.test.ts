// MESH as a client sees it, from the spec (../shared/specs/mesh/specification/mesh-api.yaml):
// handshake, send, list, count, download, HEAD, acknowledge and tracking, in v1 and v2; chunked
// upload and download; lookups; and the audit record naming the mailbox.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import { MESH, V2, meshTester } from '../../test/support/mesh.ts';
import { MESSAGE_ID } from './message-id.ts';

const t = await buildTestApp();
const mesh = meshTester(t);
const CLIENT = { 'mex-clientversion': 'ApiDocs==0.0.1', 'mex-osname': 'Linux', 'mex-osversion': '#44~18.04.2-Ubuntu' };

test('handshake: POST and GET, v1 names the mailbox, v2 has no body; the client headers are required', async () => {
  const [mailbox] = await mesh.mailboxes(1);
  assert.ok(mailbox);
  const v1 = await mesh.call({ method: 'POST', path: `/${mailbox}`, headers: CLIENT });
  assert.equal(v1.statusCode, 200);
  assert.deepEqual(v1.json(), { mailboxId: mailbox });
  const v2 = await mesh.call({ method: 'GET', path: `/${mailbox}`, headers: CLIENT, version: 2 });
  assert.equal(v2.statusCode, 200);
  assert.equal(v2.body, '');
  const [row] = await t.db<{ client_version: string }[]>`select client_version from mesh_mailbox where mailbox_id = ${mailbox}`;
  assert.equal(row?.client_version, 'ApiDocs==0.0.1');
  const missing = await mesh.call({ method: 'POST', path: `/${mailbox}`, headers: { 'mex-clientversion': '1' } });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.json<{ errorDescription: string }>().errorDescription, /mex-OSName, mex-OSVersion/);
});

test('v2: send, list, count, download with every header carried, HEAD, acknowledge, track', async () => {
  const [sender, recipient] = await mesh.mailboxes(2);
  assert.ok(sender && recipient);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const sent = await mesh.call({
    method: 'POST',
    path: `/${sender}/outbox`,
    version: 2,
    headers: {
      'mex-from': sender, 'mex-to': recipient, 'mex-workflowid': workflowId, 'mex-localid': 'bob-greets-alice', 'mex-subject': 'Greetings',
      'mex-filename': 'greeting.txt', 'mex-content-checksum': 'b10a8db164e0754105b7a99be72e3fe5', 'mex-content-compressed': 'N', 'mex-content-encrypted': 'Y',
      'content-type': 'text/plain',
    },
    payload: 'This is a message',
  });
  assert.equal(sent.statusCode, 202);
  const messageId = sent.json<{ message_id: string }>().message_id;
  assert.match(messageId, MESSAGE_ID);
  assert.deepEqual(sent.json(), { message_id: messageId });

  const inbox = await mesh.call({ path: `/${recipient}/inbox`, version: 2 });
  assert.equal(inbox.statusCode, 200);
  assert.equal(String(inbox.headers['content-type']).split(';')[0], V2);
  assert.deepEqual(inbox.json(), { messages: [messageId], links: { self: `${MESH}/${recipient}/inbox` }, approx_inbox_count: 1 });
  assert.deepEqual((await mesh.call({ path: `/${recipient}/count`, version: 2 })).json(), { count: 1 });
  assert.deepEqual((await mesh.call({ path: `/${sender}/inbox`, version: 2 })).json<{ messages: string[] }>().messages, [], 'not in the sender\'s inbox');

  const download = await mesh.call({ path: `/${recipient}/inbox/${messageId}`, version: 2 });
  assert.equal(download.statusCode, 200);
  assert.equal(download.body, 'This is a message');
  const expected: Record<string, string> = {
    'content-type': 'text/plain', 'content-length': '17', 'mex-messageid': messageId, 'mex-messagetype': 'DATA', 'mex-from': sender, 'mex-to': recipient,
    'mex-workflowid': workflowId, 'mex-localid': 'bob-greets-alice', 'mex-subject': 'Greetings', 'mex-filename': 'greeting.txt',
    'mex-content-checksum': 'b10a8db164e0754105b7a99be72e3fe5', 'mex-content-compressed': 'N', 'mex-content-encrypted': 'Y', 'mex-chunk-range': '1:1',
    'mex-addresstype': 'ALL', 'mex-version': '1.0', 'mex-statussuccess': 'SUCCESS', 'mex-statusevent': 'TRANSFER', 'mex-statuscode': '00',
  };
  for (const [name, value] of Object.entries(expected)) assert.equal(download.headers[name], value, name);
  assert.match(String(download.headers.etag), /^"[0-9a-f]{40}"$/);

  const head = await mesh.call({ method: 'HEAD', path: `/${recipient}/inbox/${messageId}` });
  assert.equal(head.statusCode, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['mex-messageid'], messageId);
  assert.equal(head.headers['content-length'], '17');

  const tracked = await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${messageId}`, version: 2 });
  assert.equal(tracked.statusCode, 200);
  const tracking = tracked.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(tracking).sort(), [
    'expiry_time', 'filename', 'local_id', 'message_id', 'recipient', 'recipient_name', 'recipient_ods_code', 'recipient_org_code', 'recipient_org_name',
    'status', 'status_code', 'status_description', 'status_event', 'status_success', 'status_timestamp', 'upload_timestamp', 'workflow_id',
  ]);
  assert.equal(tracking.status, 'accepted');
  assert.equal(tracking.status_success, true);
  assert.equal(tracking.local_id, 'bob-greets-alice');
  assert.match(String(tracking.expiry_time), /^\d{14}$/);
  assert.match(String(tracking.status_timestamp), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);

  const ack = await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${messageId}/status/acknowledged`, version: 2 });
  assert.equal(ack.statusCode, 200);
  assert.equal(ack.body, '');
  assert.equal((await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${messageId}/status/acknowledged`, version: 2 })).statusCode, 200, 'twice is harmless');
  assert.deepEqual((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).json<{ messages: string[] }>().messages, []);
  assert.equal((await mesh.call({ path: `/${recipient}/inbox/${messageId}`, version: 2 })).statusCode, 410, 'acknowledged: it cannot be downloaded again');
  assert.equal((await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${messageId}`, version: 2 })).json<{ status: string }>().status, 'acknowledged');
});

test('v1: messageID, messages only, count with internalID, messageId on acknowledgement, camelCase tracking by id and by local id', async () => {
  const [sender, recipient] = await mesh.mailboxes(2);
  assert.ok(sender && recipient);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const sent = await mesh.call({ method: 'POST', path: `/${sender}/outbox`, headers: { 'mex-to': recipient, 'mex-workflowid': workflowId, 'mex-localid': `local-${randomUUID()}` }, payload: 'v1 body' });
  assert.equal(sent.statusCode, 202);
  assert.equal(String(sent.headers['content-type']).split(';')[0], 'application/json');
  const messageId = sent.json<{ messageID: string }>().messageID;
  assert.deepEqual(sent.json(), { messageID: messageId });

  assert.deepEqual((await mesh.call({ path: `/${recipient}/inbox` })).json(), { messages: [messageId] });
  const count = (await mesh.call({ path: `/${recipient}/count` })).json<{ count: number; internalID: string; allResultsIncluded: boolean }>();
  assert.equal(count.count, 1);
  assert.equal(count.allResultsIncluded, true);
  assert.equal(typeof count.internalID, 'string');

  const tracking = (await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${messageId}` })).json<Record<string, unknown>>();
  assert.equal(tracking.dtsId, messageId);
  assert.equal(tracking.messageId, messageId);
  assert.equal(tracking.status, 'Accepted');
  assert.equal(tracking.statusSuccess, 'SUCCESS');
  assert.equal(tracking.fileSize, 7);
  assert.equal(tracking.chunkCount, 1);
  assert.equal(tracking.messageType, 'DATA');
  assert.equal(tracking.workflowId, workflowId);
  assert.equal(tracking.sender, sender);
  assert.equal(tracking.recipientName, 'Test mailbox 2');
  assert.equal(tracking.version, '1.0');
  assert.equal(tracking.downloadTimestamp, null);

  const byLocalId = await mesh.call({ path: `/${sender}/outbox/tracking/${String(tracking.localId)}` });
  assert.equal(byLocalId.statusCode, 200);
  assert.equal(byLocalId.json<{ dtsId: string }>().dtsId, messageId);

  const ack = await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${messageId}/status/acknowledged`, headers: { 'content-type': 'application/json' }, payload: { messageId } });
  assert.equal(ack.statusCode, 200);
  assert.deepEqual(ack.json(), { messageId });
  const after = (await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${messageId}` })).json<Record<string, unknown>>();
  assert.equal(after.status, 'Acknowledged');
  assert.match(String(after.downloadTimestamp), /^\d{14}$/);
});

test('tracking by a local id used twice is 300; an unknown one 404', async () => {
  const [sender, recipient] = await mesh.mailboxes(2);
  assert.ok(sender && recipient);
  const workflowId = await mesh.workflow([sender], [recipient]);
  await mesh.send(sender, recipient, workflowId, 'one', { 'mex-localid': 'twice' });
  await mesh.send(sender, recipient, workflowId, 'two', { 'mex-localid': 'twice' });
  assert.equal((await mesh.call({ path: `/${sender}/outbox/tracking/twice` })).statusCode, 300);
  assert.equal((await mesh.call({ path: `/${sender}/outbox/tracking/never` })).statusCode, 404);
});

test('chunked: 1:3 with the message, 2 and 3 after; 206 for chunks 1 and 2, 200 for the last; gzip carried through untouched', async () => {
  const [sender, recipient] = await mesh.mailboxes(2);
  assert.ok(sender && recipient);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const pieces = ['Hi Alice,\n\nThis is Bob. ', "It's really nice that we can communicate via SPINE!\n\n", 'I hope to hear more from you in the future,\n\nBob.\n'];
  const gzipped = pieces.map((piece) => gzipSync(piece));
  const first = await mesh.call({
    method: 'POST', path: `/${sender}/outbox`, version: 2,
    headers: { 'mex-to': recipient, 'mex-workflowid': workflowId, 'mex-chunk-range': '1:3', 'mex-filename': 'message.txt.gz', 'content-encoding': 'gzip', 'content-type': 'application/octet-stream' },
    payload: gzipped[0],
  });
  assert.equal(first.statusCode, 202);
  const messageId = first.json<{ message_id: string }>().message_id;
  assert.deepEqual((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).json<{ messages: string[] }>().messages, [], 'not delivered until every chunk is in');
  assert.equal((await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${messageId}`, version: 2 })).json<{ status: string }>().status, 'uploading');
  for (const chunk of [2, 3]) {
    const response = await mesh.call({ method: 'POST', path: `/${sender}/outbox/${messageId}/${chunk}`, version: 2, headers: { 'mex-chunk-range': `${chunk}:3`, 'content-encoding': 'gzip', 'content-type': 'application/octet-stream' }, payload: gzipped[chunk - 1] });
    assert.equal(response.statusCode, 202, response.body);
    assert.deepEqual(response.json(), { message_id: messageId });
  }
  assert.deepEqual((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).json<{ messages: string[] }>().messages, [messageId]);

  const whole = await mesh.call({ path: `/${recipient}/inbox/${messageId}`, version: 2, headers: { 'accept-encoding': 'gzip' } });
  assert.equal(whole.statusCode, 206);
  assert.equal(whole.headers['mex-chunk-range'], '1:3');
  assert.equal(whole.headers['content-encoding'], 'gzip');
  assert.deepEqual(whole.rawPayload, gzipped[0]);
  const middle = await mesh.call({ path: `/${recipient}/inbox/${messageId}/2`, version: 2 });
  assert.equal(middle.statusCode, 206);
  assert.equal(middle.headers['mex-chunk-range'], '2:3');
  const last = await mesh.call({ path: `/${recipient}/inbox/${messageId}/3`, version: 2 });
  assert.equal(last.statusCode, 200);
  assert.equal(last.headers['mex-chunk-range'], '3:3');
  assert.equal([whole, middle, last].map((response) => gunzipSync(response.rawPayload).toString()).join(''), pieces.join(''));
  assert.equal((await mesh.call({ path: `/${recipient}/inbox/${messageId}/4`, version: 2 })).statusCode, 404, 'no chunk 4');
  const head = await mesh.call({ method: 'HEAD', path: `/${recipient}/inbox/${messageId}` });
  assert.equal(head.statusCode, 200, 'HEAD answers 200 with the headers of chunk 1');
  assert.equal(head.headers['mex-chunk-range'], '1:3');
  assert.equal(head.headers['content-length'], String(gzipped[0]?.length));
  const tracking = (await mesh.call({ path: `/${sender}/outbox/tracking?messageID=${messageId}` })).json<Record<string, unknown>>();
  assert.equal(tracking.chunkCount, 3);
  assert.equal(tracking.contentEncoding, 'gzip');
  assert.equal(tracking.fileSize, gzipped.reduce((total, piece) => total + piece.length, 0));
});

test('endpoint lookup and workflow search find the receiving mailboxes, in both shapes; _ping answers', async () => {
  const [sender, receiver, other] = await mesh.mailboxes(3, 'LK1');
  assert.ok(sender && receiver && other);
  const workflowId = await mesh.workflow([sender], [receiver]);
  const v2 = await t.app.inject({ url: `${MESH}/endpointlookup/LK1/${workflowId}`, headers: { accept: V2 } });
  assert.equal(v2.statusCode, 200);
  assert.deepEqual(v2.json(), { results: [{ mailbox_id: receiver, mailbox_name: 'Test mailbox 2' }] });
  const v1 = (await t.app.inject({ url: `${MESH}/endpointlookup/LK1/${workflowId}` })).json<{ query_id: string; results: unknown[] }>();
  assert.deepEqual(v1.results, [{ address: receiver, description: 'Test mailbox 2', endpoint_type: 'MESH' }]);
  assert.equal(typeof v1.query_id, 'string');
  assert.deepEqual((await t.app.inject({ url: `${MESH}/endpointlookup/NOPE/${workflowId}` })).json<{ results: unknown[] }>().results, []);
  assert.deepEqual((await t.app.inject({ url: `${MESH}/workflowsearch/${workflowId}` })).json(), { results: [{ mailbox_id: receiver, mailbox_name: 'Test mailbox 2' }] });
  const ping = await t.app.inject({ url: `${MESH}/_ping` });
  assert.equal(ping.statusCode, 200);
  assert.equal(ping.json<{ status: string }>().status, 'running');
});

test('the sandbox mailboxes X26ABC1 to X26ABC3 and their workflows are there to use', async () => {
  const messageId = await mesh.send('X26ABC1', 'X26ABC2', 'TEST_WORKFLOW', 'to the sandbox');
  const download = await mesh.call({ path: `/X26ABC2/inbox/${messageId}` });
  assert.equal(download.body, 'to the sandbox');
  assert.equal((await mesh.call({ method: 'PUT', path: `/X26ABC2/inbox/${messageId}/status/acknowledged` })).statusCode, 200);
});

test('each call is audited with the mailbox that made it and the message it touched', async () => {
  const [sender, recipient] = await mesh.mailboxes(2);
  assert.ok(sender && recipient);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const requestId = randomUUID();
  const sent = await mesh.call({ method: 'POST', path: `/${sender}/outbox`, headers: { 'mex-to': recipient, 'mex-workflowid': workflowId, 'x-request-id': requestId }, payload: 'audited' });
  const messageId = sent.json<{ messageID: string }>().messageID;
  const record = (await auditRecords(t.db)).find((candidate) => candidate.requestId === requestId);
  assert.deepEqual(record && { actorMode: record.actorMode, applicationId: record.applicationId, resourceIds: record.resourceIds, outcome: record.outcome },
    { actorMode: 'mesh-mailbox', applicationId: sender, resourceIds: [`MeshMessage/${messageId}`], outcome: 'success' });

  const refusedId = randomUUID();
  await mesh.call({ path: `/${recipient}/inbox`, as: sender, headers: { 'x-request-id': refusedId } });
  const refused = (await auditRecords(t.db)).find((candidate) => candidate.requestId === refusedId);
  assert.equal(refused?.outcome, 'denied');
  assert.match(refused?.detail ?? '', /Mailbox id does not match token/);
});
