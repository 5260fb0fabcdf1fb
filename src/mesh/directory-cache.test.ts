// The directory as one process remembers it: what lets a call through is kept for a few seconds;
// a change that takes access away is forgotten when PostgreSQL tells of it (migration 0018), and
// within those seconds at the latest; a change that grants access, or a new password, works at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { PASSWORD, meshTester } from '../../test/support/mesh.ts';
import { createMailboxAuthenticator } from './authenticate.ts';
import { createMeshDirectory } from './directory-cache.ts';
import { MeshError } from './errors.ts';
import { waitFor } from '../../test/support/wait.ts';

const t = await buildTestApp();
const mesh = meshTester(t);

test('a mailbox found active is remembered; one found inactive or missing is read again each time', async () => {
  const [box = ''] = await mesh.mailboxes(1);
  const directory = createMeshDirectory(t.db);
  assert.equal((await directory.mailbox(box))?.active, true);
  await t.db`update mesh_mailbox set active = false where mailbox_id = ${box}`;
  assert.equal((await directory.mailbox(box))?.active, true, 'deactivated by another process: still active here, for at most a few seconds');
  assert.equal((await directory.mailbox(box, { fresh: true }))?.active, false);
  await t.db`update mesh_mailbox set active = true where mailbox_id = ${box}`;
  directory.forget();
  assert.equal((await directory.mailbox(box))?.active, true, 'forgotten: read again');

  assert.equal(await directory.mailbox('NOSUCHBOX'), undefined);
  const [late = ''] = await mesh.mailboxes(1);
  await t.db`update mesh_mailbox set active = false where mailbox_id = ${late}`;
  assert.equal((await directory.mailbox(late))?.active, false);
  await t.db`update mesh_mailbox set active = true where mailbox_id = ${late}`;
  assert.equal((await directory.mailbox(late))?.active, true, 'reactivated: at once, an inactive mailbox is never remembered');
});

test('a workflow is remembered only when it lets the sender send to the recipient', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const directory = createMeshDirectory(t.db);
  const workflowId = await mesh.workflow([], [recipient]);
  assert.equal((await directory.workflowRoles(workflowId, sender, recipient)).senderMaySend, false);
  await t.db`insert into mesh_workflow_member (workflow_id, role, mailbox_id) values (${workflowId}, 'sender', ${sender})`;
  assert.equal((await directory.workflowRoles(workflowId, sender, recipient)).senderMaySend, true, 'added as a sender: at once');
  await t.db`delete from mesh_workflow_member where workflow_id = ${workflowId}`;
  assert.deepEqual(await directory.workflowRoles(workflowId, sender, recipient), { exists: true, senderMaySend: true, recipientMayReceive: true }, 'removed by another process: remembered for a few seconds');
});

test('what was read before a forget is not kept after it', async () => {
  const [box = ''] = await mesh.mailboxes(1);
  const directory = createMeshDirectory(t.db);
  const reading = directory.mailbox(box);
  directory.forget(); // an admin change committed while the read was on its way
  await reading;
  await t.db`update mesh_mailbox set active = false where mailbox_id = ${box}`;
  assert.equal((await directory.mailbox(box))?.active, false);
});

test('a password changed by another process works at once; the old one for at most a few seconds', async () => {
  const [box = ''] = await mesh.mailboxes(1);
  const authenticate = createMailboxAuthenticator(t.db, createMeshDirectory(t.db), { sharedKey: t.config.meshSharedKey, now: () => new Date() });
  assert.equal((await authenticate(mesh.authorization(box), box)).mailboxId, box);
  await t.db`update mesh_mailbox set password = 'changed elsewhere' where mailbox_id = ${box}`;
  assert.equal((await authenticate(mesh.authorization(box, { password: 'changed elsewhere' }), box)).password, 'changed elsewhere');
  await assert.rejects(authenticate(mesh.authorization(box, { password: PASSWORD }), box), (error: unknown) => error instanceof MeshError && error.status === 403,
    'once the new one was seen, the old one is refused');
  await assert.rejects(authenticate(mesh.authorization(box, { password: 'never set' }), box), (error: unknown) => error instanceof MeshError && error.status === 403);
});

test('a listening directory forgets when anyone changes a mailbox or a workflow, well before its few seconds', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const directory = createMeshDirectory(t.db);
  const stop = await directory.listen();
  try {
    const heard = { timeoutMs: 2_000 }; // well short of DIRECTORY_CACHE_MS: only a notification can make these true in time
    assert.equal((await directory.mailbox(recipient))?.active, true);
    await t.db`update mesh_mailbox set active = false where mailbox_id = ${recipient}`;
    await waitFor(async () => (await directory.mailbox(recipient))?.active === false, heard);

    assert.equal((await directory.workflowRoles(workflowId, sender, recipient)).senderMaySend, true);
    await t.db`delete from mesh_workflow_member where workflow_id = ${workflowId} and role = 'sender'`;
    await waitFor(async () => !(await directory.workflowRoles(workflowId, sender, recipient)).senderMaySend, heard);

    assert.equal((await directory.mailbox(sender))?.password, PASSWORD);
    await t.db`update mesh_mailbox set password = 'changed elsewhere' where mailbox_id = ${sender}`;
    await waitFor(async () => (await directory.mailbox(sender))?.password === 'changed elsewhere', heard);
  } finally {
    await stop();
  }
});
