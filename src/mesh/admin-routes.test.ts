// The MESH administration API: mailboxes added, changed (the password kept when left out),
// deactivated and listed; workflows set and listed; admin scope only; and what it sets is what the
// MESH API then does (a new mailbox signs in and receives, a deactivated one cannot).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';
import { MESH_ADMIN_BASE } from './admin-routes.ts';

const t = await buildTestApp();
const mesh = meshTester(t);
const headers = await t.adminHeaders();
const admin = (method: 'GET' | 'PUT' | 'DELETE', path: string, payload?: unknown) =>
  t.app.inject({ method, url: `${MESH_ADMIN_BASE}${path}`, headers: { ...headers, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
const newId = () => `A${randomBytes(4).toString('hex').toUpperCase()}`;

test('a mailbox added through the API signs in and receives; changed without a password it keeps its own', async () => {
  const [sender = ''] = await mesh.mailboxes(1);
  const mailboxId = newId();
  const created = await admin('PUT', `/mailboxes/${mailboxId.toLowerCase()}`, { mailbox_name: 'Lab results', ods_code: 'x26', org_code: 'X26', billing_entity: 'England', password: 'password' });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual(created.json(), { mailbox_id: mailboxId, mailbox_name: 'Lab results', ods_code: 'X26', org_code: 'X26', org_name: null, billing_entity: 'England', active: true });

  const changed = await admin('PUT', `/mailboxes/${mailboxId}`, { mailbox_name: 'Pathology results', ods_code: 'X26' });
  assert.equal(changed.statusCode, 200);
  assert.equal(changed.json<{ mailbox_name: string }>().mailbox_name, 'Pathology results');
  const read = await admin('GET', `/mailboxes/${mailboxId}`);
  assert.equal(read.json<{ mailbox_name: string }>().mailbox_name, 'Pathology results');
  assert.equal(read.json<Record<string, unknown>>().password, undefined, 'a password is never shown');

  const workflowId = `WF_${newId()}`;
  const workflow = await admin('PUT', `/workflows/${workflowId}`, { senders: [sender.toLowerCase()], receivers: [mailboxId, mailboxId] });
  assert.equal(workflow.statusCode, 200);
  assert.deepEqual(workflow.json(), { workflow_id: workflowId, senders: [sender], receivers: [mailboxId] });
  const messageId = await mesh.send(sender, mailboxId, workflowId, 'hello');
  const inbox = await mesh.call({ path: `/${mailboxId}/inbox`, version: 2 });
  assert.equal(inbox.statusCode, 200, 'signs in with the password it was given, kept through the change');
  assert.deepEqual(inbox.json<{ messages: string[] }>().messages, [messageId]);
});

test('a deactivated mailbox can neither sign in nor be sent to; its details stay', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const deactivated = await admin('DELETE', `/mailboxes/${recipient}`);
  assert.equal(deactivated.statusCode, 200);
  assert.equal(deactivated.json<{ active: boolean }>().active, false);
  assert.equal((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).statusCode, 403);
  const send = await mesh.call({ method: 'POST', path: `/${sender}/outbox`, version: 2, headers: { 'mex-to': recipient, 'mex-workflowid': workflowId, 'content-type': 'application/octet-stream' }, payload: 'x' });
  assert.equal(send.statusCode, 417);
  const listed = (await admin('GET', '/mailboxes')).json<{ mailboxes: { mailbox_id: string; active: boolean }[] }>().mailboxes;
  assert.equal(listed.find((mailbox) => mailbox.mailbox_id === recipient)?.active, false);
  assert.equal((await admin('DELETE', `/mailboxes/${newId()}`)).statusCode, 404);
});

test('workflows are listed with their senders and receivers; replacing one replaces who may use it', async () => {
  const [a = '', b = '', c = ''] = await mesh.mailboxes(3);
  const workflowId = await mesh.workflow([a], [b]);
  await admin('PUT', `/workflows/${workflowId}`, { senders: [c], receivers: [a, b] });
  const listed = (await admin('GET', '/workflows')).json<{ workflows: { workflow_id: string }[] }>().workflows;
  assert.deepEqual(listed.find((workflow) => workflow.workflow_id === workflowId), { workflow_id: workflowId, senders: [c], receivers: [a, b].sort() });
  assert.deepEqual((await admin('GET', `/workflows/${workflowId}`)).json(), { workflow_id: workflowId, senders: [c], receivers: [a, b].sort() });
  assert.equal((await admin('GET', `/workflows/NO_SUCH_${newId()}`)).statusCode, 404);
  const refused = await mesh.call({ method: 'POST', path: `/${a}/outbox`, version: 2, headers: { 'mex-to': b, 'mex-workflowid': workflowId, 'content-type': 'application/octet-stream' }, payload: 'x' });
  assert.equal(refused.statusCode, 417, 'the old sender may no longer send it');
});

test('a new mailbox needs a password, and bad input is refused with what is wrong', async () => {
  const missing = await admin('PUT', `/mailboxes/${newId()}`, { mailbox_name: 'No password', ods_code: 'X26' });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.body, /password/);
  assert.equal((await admin('PUT', `/mailboxes/${newId()}`, { mailbox_name: 'Short', ods_code: 'X26', password: 'short' })).statusCode, 400);
  assert.equal((await admin('PUT', `/mailboxes/${newId()}`, { ods_code: 'X26', password: 'password' })).statusCode, 400);
  assert.equal((await admin('PUT', `/workflows/WF_${newId()}`, { senders: [] })).statusCode, 400);
  assert.equal((await admin('PUT', `/workflows/WF_${newId()}`, { senders: ['not a mailbox id'], receivers: [] })).statusCode, 400);
});

test('only an administrator may use it', async () => {
  const plain = await t.token();
  const response = await t.app.inject({ method: 'GET', url: `${MESH_ADMIN_BASE}/mailboxes`, headers: { authorization: `Bearer ${plain}` } });
  assert.equal(response.statusCode, 403);
  assert.equal((await t.app.inject({ method: 'GET', url: `${MESH_ADMIN_BASE}/mailboxes` })).statusCode, 401);
});

// This process remembers mailboxes and workflows for a few seconds (directory-cache.ts); what its
// own admin API changes is forgotten before the change is answered.
test('changes through the API take effect at once, though the mailboxes signed in and sent a moment before', async () => {
  const [sender = '', recipient = '', other = ''] = await mesh.mailboxes(3);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const send = () =>
    mesh.call({ method: 'POST', path: `/${sender}/outbox`, version: 2, headers: { 'mex-to': recipient, 'mex-workflowid': workflowId, 'content-type': 'application/octet-stream' }, payload: 'x' });
  assert.equal((await send()).statusCode, 202, 'sender, recipient and workflow are now remembered');
  assert.equal((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).statusCode, 200);

  await admin('PUT', `/workflows/${workflowId}`, { senders: [other], receivers: [recipient] });
  assert.equal((await send()).statusCode, 417, 'removed from the workflow: refused at once');
  await admin('PUT', `/workflows/${workflowId}`, { senders: [sender], receivers: [recipient] });
  assert.equal((await send()).statusCode, 202);

  await admin('PUT', `/mailboxes/${recipient}`, { mailbox_name: 'Renamed', ods_code: 'X26', password: 'a new password' });
  assert.equal((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).statusCode, 403, 'the old password is refused at once');
  assert.equal((await mesh.call({ path: `/${recipient}/inbox`, version: 2, password: 'a new password' })).statusCode, 200);

  await admin('DELETE', `/mailboxes/${recipient}`);
  assert.equal((await mesh.call({ path: `/${recipient}/inbox`, version: 2, password: 'a new password' })).statusCode, 403, 'deactivated: cannot sign in');
  assert.equal((await send()).statusCode, 417, 'deactivated: cannot be sent to');
  await admin('DELETE', `/mailboxes/${sender}`);
  assert.equal((await send()).statusCode, 403, 'a deactivated sender cannot sign in');
});
