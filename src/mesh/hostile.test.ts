// The hostile cases: someone else's mailbox and messages, replayed tokens (in this process and
// another), forged HMACs, stale timestamps, and mailboxes that do not exist or are switched off.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { PASSWORD, meshTester } from '../../test/support/mesh.ts';
import { createMailboxAuthenticator } from './authenticate.ts';
import { createMeshDirectory } from './directory-cache.ts';
import { MeshError } from './errors.ts';

const t = await buildTestApp();
const mesh = meshTester(t);
const [alice, bob, mallory] = await mesh.mailboxes(3);
if (!alice || !bob || !mallory) throw new Error('no mailboxes');
const workflowId = await mesh.workflow([alice, mallory], [bob]);

const withHeader = (path: string, authorization: string | undefined, method: 'GET' | 'POST' = 'GET') =>
  t.app.inject({ method, url: `/messageexchange${path}`, headers: authorization === undefined ? {} : { authorization } });
const descriptionOf = (body: string) => JSON.parse(body) as { errorDescription: string };

test("a token for one mailbox never opens another's", async () => {
  for (const path of [`/${bob}`, `/${bob}/inbox`, `/${bob}/count`, `/${bob}/outbox/tracking?messageID=x`]) {
    const response = await withHeader(path, mesh.authorization(mallory));
    assert.equal(response.statusCode, 403, path);
    assert.equal(descriptionOf(response.body).errorDescription, 'Mailbox id does not match token');
  }
  const send = await mesh.call({ method: 'POST', path: `/${bob}/outbox`, as: mallory, headers: { 'mex-to': bob, 'mex-workflowid': workflowId }, payload: 'x' });
  assert.equal(send.statusCode, 403);
  const lowerCase = await withHeader(`/${bob}/inbox`, mesh.authorization(bob.toLowerCase()));
  assert.equal(lowerCase.statusCode, 403, 'the token names the mailbox in upper case, as the spec requires');
});

test('a replayed token (same nonce and count) is refused with 403; the same nonce with the next count is not', async () => {
  const nonce = randomUUID();
  const header = mesh.authorization(bob, { nonce, nonceCount: 1 });
  assert.equal((await withHeader(`/${bob}/inbox`, header)).statusCode, 200);
  const replay = await withHeader(`/${bob}/inbox`, header);
  assert.equal(replay.statusCode, 403);
  assert.equal(descriptionOf(replay.body).errorDescription, 'Error Duplicated Authentication Token');
  assert.equal((await withHeader(`/${bob}/inbox`, mesh.authorization(bob, { nonce, nonceCount: 2 }))).statusCode, 200);
});

test('a token used on the handshake, the inbox count or tracking, which record its nonce in their own statement, is refused when replayed', async () => {
  const client = { 'mex-clientversion': 'ApiDocs==0.0.1', 'mex-osname': 'Linux', 'mex-osversion': '#44~18.04.2-Ubuntu' };
  for (const path of [`/${bob}`, `/${bob}/count`, `/${bob}/outbox/tracking?messageID=20260101000000000000_ABCDEF`, `/${bob}/outbox/tracking/no-such-local-id`]) {
    const header = mesh.authorization(bob);
    const call = () => t.app.inject({ method: 'GET', url: `/messageexchange${path}`, headers: { authorization: header, ...client } });
    const first = await call();
    assert.ok([200, 404].includes(first.statusCode), `${path}: ${first.statusCode}`);
    const replay = await call();
    assert.equal(replay.statusCode, 403, path);
    assert.equal(descriptionOf(replay.body).errorDescription, 'Error Duplicated Authentication Token', path);
  }
});

// Sending, listing, downloading and acknowledging record the nonce in their own statement
// (authenticate.ts, PendingNonce): a replay of any of them is refused and does nothing, even when
// the call is wrong in some other way as well, and a refused call's token is spent all the same.
test('a replayed token is refused and does nothing on every call of a message, whatever else is wrong with the call', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflow = await mesh.workflow([sender], [recipient]);
  const duplicated = (response: { statusCode: number; body: string }, name: string) => {
    assert.equal(response.statusCode, 403, name);
    if (response.body !== '') assert.equal(descriptionOf(response.body).errorDescription, 'Error Duplicated Authentication Token', name);
  };
  const call = (method: 'GET' | 'HEAD' | 'PUT' | 'POST', path: string, authorization: string, headers: Record<string, string> = {}, payload?: string) =>
    t.app.inject({ method, url: `/messageexchange${path}`, headers: { authorization, ...headers }, ...(payload === undefined ? {} : { payload }) });
  const inbox = async () => (await mesh.call({ path: `/${recipient}/inbox` })).json<{ messages: string[] }>().messages;
  const sendHeaders = { 'mex-to': recipient, 'mex-workflowid': workflow, 'content-type': 'application/octet-stream' };

  const sending = mesh.authorization(sender);
  assert.equal((await call('POST', `/${sender}/outbox`, sending, sendHeaders, 'once')).statusCode, 202);
  duplicated(await call('POST', `/${sender}/outbox`, sending, sendHeaders, 'twice'), 'send');
  // Past one statement's size: its nonce is recorded by itself first.
  duplicated(await call('POST', `/${sender}/outbox`, sending, sendHeaders, 'x'.repeat(100 * 1024)), 'a larger send');
  const [messageId = '', ...others] = await inbox();
  assert.deepEqual(others, [], 'the replays sent nothing');

  for (const [method, path] of [['GET', `/${recipient}/inbox`], ['GET', `/${recipient}/inbox/${messageId}`], ['HEAD', `/${recipient}/inbox/${messageId}`], ['GET', `/${recipient}/inbox/${messageId}/1`]] as const) {
    const header = mesh.authorization(recipient);
    assert.equal((await call(method, path, header)).statusCode, 200, `${method} ${path}`);
    duplicated(await call(method, path, header), `${method} ${path} again`);
  }
  const listing = mesh.authorization(recipient);
  assert.equal((await call('GET', `/${recipient}/inbox`, listing)).statusCode, 200);
  duplicated(await call('PUT', `/${recipient}/inbox/${messageId}/status/acknowledged`, listing), 'acknowledging with a token used to list');
  assert.deepEqual(await inbox(), [messageId], 'the replayed acknowledgement acknowledged nothing');
  assert.equal((await call('PUT', `/${recipient}/inbox/${messageId}/status/acknowledged`, mesh.authorization(recipient))).statusCode, 200);

  // Wrong in another way too: the replay is what is answered, as when the nonce was recorded at sign-in.
  const unknown = '20200101000000000000_ABCDEF';
  const wrong: [string, 'GET' | 'PUT' | 'POST', string, Record<string, string>, string | undefined][] = [
    ['a listing with a bad max_results', 'GET', `/${recipient}/inbox?max_results=1`, {}, undefined],
    ['an unknown message', 'GET', `/${recipient}/inbox/${unknown}`, {}, undefined],
    ['acknowledging an unknown message', 'PUT', `/${recipient}/inbox/${unknown}/status/acknowledged`, {}, undefined],
    ['a send without a workflow', 'POST', `/${recipient}/outbox`, { 'mex-to': sender }, 'x'],
  ];
  for (const [name, method, path, headers, payload] of wrong) {
    const header = mesh.authorization(recipient);
    assert.ok((await call(method, path, header, headers, payload)).statusCode >= 400, name);
    duplicated(await call(method, path, header, headers, payload), `${name}, replayed`);
  }
});

test('the same token three times at once sends one message', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflow = await mesh.workflow([sender], [recipient]);
  const header = mesh.authorization(sender);
  const send = () => t.app.inject({ method: 'POST', url: `/messageexchange/${sender}/outbox`, headers: { authorization: header, 'mex-to': recipient, 'mex-workflowid': workflow }, payload: 'at once' });
  const statuses = (await Promise.all([send(), send(), send()])).map((response) => response.statusCode).sort();
  assert.deepEqual(statuses, [202, 403, 403]);
  assert.equal((await mesh.call({ path: `/${recipient}/inbox` })).json<{ messages: string[] }>().messages.length, 1);
});

test('a token used in one process is refused in another: the nonce is in the database', async () => {
  const header = mesh.authorization(bob);
  assert.equal((await withHeader(`/${bob}/count`, header)).statusCode, 200);
  // Another process has its own authenticator over the same database.
  const elsewhere = createMailboxAuthenticator(t.db, createMeshDirectory(t.db), { sharedKey: t.config.meshSharedKey, now: () => new Date() });
  await assert.rejects(elsewhere(header, bob), (error: unknown) => error instanceof MeshError && error.status === 403 && /Duplicated/.test(error.description));
  assert.equal((await elsewhere(mesh.authorization(bob), bob)).mailboxId, bob);
});

test('a forged HMAC, a wrong password, a stale or future timestamp, no header: all 403', async () => {
  const good = mesh.authorization(bob);
  const forged = good.replace(/[0-9a-f]{8}$/, '00000000');
  const cases: [string, string | undefined, RegExp][] = [
    ['forged', forged, /^Invalid Authentication Token$/],
    ['wrong password', mesh.authorization(bob, { password: `${PASSWORD}!` }), /^Invalid Authentication Token$/],
    ['3 hours old', mesh.authorization(bob, { time: new Date(Date.now() - 3 * 3600_000) }), /more than 2 hours/],
    ['3 hours ahead', mesh.authorization(bob, { time: new Date(Date.now() + 3 * 3600_000) }), /more than 2 hours/],
    ['no header', undefined, /Error reading from Authorization header/],
    ['a bearer token', `Bearer ${await t.token()}`, /Error reading from Authorization header/],
  ];
  for (const [name, header, description] of cases) {
    const response = await withHeader(`/${bob}/inbox`, header);
    assert.equal(response.statusCode, 403, name);
    assert.match(descriptionOf(response.body).errorDescription, description, name);
  }
});

test('unknown and inactive mailboxes are refused', async () => {
  assert.equal((await withHeader('/NOSUCHBOX/inbox', mesh.authorization('NOSUCHBOX'))).statusCode, 403);
  const [dormant] = await mesh.mailboxes(1);
  assert.ok(dormant);
  await t.db`update mesh_mailbox set active = false where mailbox_id = ${dormant}`;
  const response = await withHeader(`/${dormant}/inbox`, mesh.authorization(dormant));
  assert.equal(response.statusCode, 403);
  assert.match(descriptionOf(response.body).errorDescription, /Inactive/);
});

test("a message is only ever visible to its recipient: others can neither download, HEAD, acknowledge, track nor add to it", async () => {
  const messageId = await mesh.send(alice, bob, workflowId, 'for Bob only');
  for (const method of ['GET', 'HEAD'] as const) {
    assert.equal((await mesh.call({ method, path: `/${mallory}/inbox/${messageId}` })).statusCode, 403, `${method} by a stranger`);
    assert.equal((await mesh.call({ method, path: `/${alice}/inbox/${messageId}` })).statusCode, 403, `${method} by its sender`);
  }
  assert.equal((await mesh.call({ path: `/${mallory}/inbox/${messageId}/1` })).statusCode, 403);
  assert.equal((await mesh.call({ method: 'PUT', path: `/${mallory}/inbox/${messageId}/status/acknowledged` })).statusCode, 403);
  // Tracking someone else's message is a 404, as Spine answers.
  assert.equal((await mesh.call({ path: `/${mallory}/outbox/tracking?messageID=${messageId}` })).statusCode, 404);
  assert.equal((await mesh.call({ path: `/${bob}/outbox/tracking?messageID=${messageId}` })).statusCode, 404, 'the recipient does not track it either');
  assert.deepEqual((await mesh.call({ path: `/${mallory}/inbox` })).json(), { messages: [] });
  assert.deepEqual((await mesh.call({ path: `/${bob}/inbox` })).json(), { messages: [messageId] }, 'still in Bob\'s inbox, unacknowledged');

  const chunked = await mesh.call({ method: 'POST', path: `/${alice}/outbox`, headers: { 'mex-to': bob, 'mex-workflowid': workflowId, 'mex-chunk-range': '1:2' }, payload: 'part one' });
  const chunkedId = chunked.json<{ messageID: string }>().messageID;
  const intruder = await mesh.call({ method: 'POST', path: `/${mallory}/outbox/${chunkedId}/2`, headers: { 'mex-chunk-range': '2:2' }, payload: 'not from Alice' });
  assert.equal(intruder.statusCode, 403);
  assert.equal((await mesh.call({ path: `/${bob}/inbox/${chunkedId}` })).statusCode, 404, 'still uploading: not there for its recipient yet');
});
