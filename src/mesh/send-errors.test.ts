// Every refusal of a send and of a chunk, with the spec's codes and both error body shapes
// (../shared/specs/mesh/specification/mesh-api.yaml, "Error codes" and the 417 MeshError bodies).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';

const t = await buildTestApp();
const mesh = meshTester(t);
const [sender, recipient, outsider] = await mesh.mailboxes(3);
if (!sender || !recipient || !outsider) throw new Error('no mailboxes');
const workflowId = await mesh.workflow([sender], [recipient]);
const reverseWorkflow = await mesh.workflow([recipient], [sender]);

type V1Error = { messageID?: string; errorEvent: string; errorCode: string; errorDescription: string };
type V2Error = { message_id?: string; internal_id: string; detail: { event: string; code: string; msg: string }[] };

const send = (headers: Record<string, string>, payload: string | Buffer = 'data', version: 1 | 2 = 1) =>
  mesh.call({ method: 'POST', path: `/${sender}/outbox`, headers: { 'mex-to': recipient, 'mex-workflowid': workflowId, 'content-type': 'application/octet-stream', ...headers }, payload, version });

async function refusedV1(response: Awaited<ReturnType<typeof send>>, status: number, code: string): Promise<V1Error> {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json<V1Error>();
  assert.equal(body.errorCode, code, body.errorDescription);
  assert.equal(typeof body.errorEvent, 'string');
  return body;
}

test('missing Mex-To: 400 with code 08, as the sandbox gives it', async () => {
  const body = await refusedV1(await mesh.call({ method: 'POST', path: `/${sender}/outbox`, headers: { 'mex-workflowid': workflowId }, payload: 'data' }), 400, '08');
  assert.deepEqual(body, { errorEvent: 'SEND', errorCode: '08', errorDescription: 'TO_DTS missing' });
});

test('unknown recipient: 417 code 12, in the v1 and the v2 shape', async () => {
  const v1 = await refusedV1(await send({ 'mex-to': 'NOSUCHBOX' }), 417, '12');
  assert.deepEqual(v1, { errorEvent: 'SEND', errorCode: '12', errorDescription: 'Unregistered to address' });
  const v2 = await send({ 'mex-to': 'NOSUCHBOX' }, 'data', 2);
  assert.equal(v2.statusCode, 417);
  const body = v2.json<V2Error>();
  assert.deepEqual(body.detail, [{ event: 'SEND', code: '12', msg: 'Unregistered to address' }]);
  assert.equal(typeof body.internal_id, 'string');
});

test('workflow not registered (17): unknown, or the recipient does not receive it; sender not allowed (16)', async () => {
  await refusedV1(await send({ 'mex-workflowid': 'NO_SUCH_WORKFLOW' }), 417, '17');
  await refusedV1(await send({ 'mex-to': outsider }), 417, '17');
  await refusedV1(await send({ 'mex-workflowid': reverseWorkflow }), 417, '16');
});

test('malformed headers (06): no workflow id, or a header longer than the spec allows', async () => {
  await refusedV1(await mesh.call({ method: 'POST', path: `/${sender}/outbox`, headers: { 'mex-to': recipient }, payload: 'data' }), 417, '06');
  await refusedV1(await send({ 'mex-subject': 's'.repeat(501) }), 417, '06');
  await refusedV1(await send({ 'mex-localid': 'l'.repeat(301) }), 417, '06');
  assert.equal((await send({ 'mex-subject': 's'.repeat(500) })).statusCode, 202, '500 is allowed');
});

test('a Mex-From that is not the signed-in mailbox (07); a message type other than DATA (11)', async () => {
  await refusedV1(await send({ 'mex-from': outsider }), 417, '07');
  assert.equal((await send({ 'mex-from': sender })).statusCode, 202);
  await refusedV1(await send({ 'mex-messagetype': 'REPORT' }), 417, '11');
});

test('missing data (02): an empty body sends nothing', async () => {
  const before = await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message where sender_id = ${sender}`;
  const body = await refusedV1(await send({}, ''), 417, '02');
  assert.equal(body.errorEvent, 'COLLECT');
  const after = await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message where sender_id = ${sender}`;
  assert.deepEqual(after, before);
});

test('an unsupported content encoding: 422 UnsupportedContentEncoding; gzip is accepted', async () => {
  await refusedV1(await send({ 'content-encoding': 'br' }), 422, 'UnsupportedContentEncoding');
  assert.equal((await send({ 'content-encoding': 'gzip' })).statusCode, 202);
});

test('a send whose chunk range does not start a message: 417 InvalidHeaderChunks', async () => {
  for (const range of ['2:3', '0:1', '3:2', 'one:two', '1']) await refusedV1(await send({ 'mex-chunk-range': range }), 417, 'InvalidHeaderChunks');
});

test('chunks: out of range, sent twice, a changed encoding or no range refused (417); after the last, 423; an unknown message 404', async () => {
  const first = await send({ 'mex-chunk-range': '1:3' }, 'one', 2);
  assert.equal(first.statusCode, 202);
  const messageId = first.json<{ message_id: string }>().message_id;
  const chunk = (number: number | string, headers: Record<string, string>, payload = 'more') =>
    mesh.call({ method: 'POST', path: `/${sender}/outbox/${messageId}/${number}`, headers: { 'content-type': 'application/octet-stream', ...headers }, payload, version: 2 });
  const refusedV2 = async (response: Awaited<ReturnType<typeof chunk>>, status: number, code: string) => {
    assert.equal(response.statusCode, status, response.body);
    const body = response.json<V2Error>();
    assert.equal(body.detail[0]?.code, code);
    assert.equal(body.message_id, messageId);
  };

  await refusedV2(await chunk(4, { 'mex-chunk-range': '4:3' }), 417, 'InvalidHeaderChunks');
  await refusedV2(await chunk(4, { 'mex-chunk-range': '4:4' }), 417, 'InvalidHeaderChunks');
  await refusedV2(await chunk(2, { 'mex-chunk-range': '3:3' }), 417, 'InvalidHeaderChunks');
  await refusedV2(await chunk(2, {}), 417, 'InvalidHeaderChunks');
  await refusedV2(await chunk(1, { 'mex-chunk-range': '1:3' }), 417, 'InvalidHeaderChunks');
  await refusedV2(await chunk(2, { 'mex-chunk-range': '2:3', 'content-encoding': 'gzip' }), 417, 'ContentEncodingChanged');
  await refusedV2(await chunk(2, { 'mex-chunk-range': '2:3' }, ''), 417, '02');

  assert.equal((await chunk(2, { 'mex-chunk-range': '2:3' })).statusCode, 202);
  await refusedV2(await chunk(2, { 'mex-chunk-range': '2:3' }, 'again'), 417, 'InvalidHeaderChunks');
  assert.equal((await chunk(3, { 'mex-chunk-range': '3:3' }, 'end')).statusCode, 202);
  const late = await chunk(3, { 'mex-chunk-range': '3:3' }, 'late');
  assert.equal(late.statusCode, 423);

  const download = await Promise.all([1, 2, 3].map((number) => mesh.call({ path: `/${recipient}/inbox/${messageId}/${number}` })));
  assert.equal(download.map((response) => response.body).join(' '), 'one more end', 'the refused uploads left nothing behind');
  const [parts] = await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message_part where message_id = ${messageId}`;
  assert.equal(parts?.count, 3, 'one part for each chunk received, none of the refused ones');

  const unknown = await mesh.call({ method: 'POST', path: `/${sender}/outbox/20200101000000000000_ABCDEF/2`, headers: { 'mex-chunk-range': '2:2' }, payload: 'x' });
  assert.equal(unknown.statusCode, 404);
});
