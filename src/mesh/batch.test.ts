// MESH calls made together run as one statement of each kind (batches.ts, nonce-batch.ts): each
// still gets the answer it would get alone, a nonce used before (earlier, or by an earlier call of
// the same batch) refuses its own call only and that call does nothing, and a call the database
// refuses fails alone.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';
import { acknowledgeTogether, downloadTogether, listTogether, sendTogether, type SendCall } from './batches.ts';
import { isReplayedNonce, useNonce, type UsedNonce } from './directory-store.ts';
import { newMessageId } from './message-id.ts';
import { readDownload, readMessage, type MeshMessage } from './store.ts';

const t = await buildTestApp();
const mesh = meshTester(t);
const [sender, recipient, other] = await mesh.mailboxes(3);
if (!sender || !recipient || !other) throw new Error('no mailboxes');
const workflowId = await mesh.workflow([sender], [recipient, other]);

const nonceOf = (mailboxId: string): UsedNonce => ({ mailboxId, nonce: randomUUID(), nonceCount: '1', expiresAt: new Date(Date.now() + 3 * 3600_000) });
async function usedBefore(mailboxId: string): Promise<UsedNonce> {
  const used = nonceOf(mailboxId);
  assert.ok(await useNonce(t.db, used));
  return used;
}
const nonceRecorded = async (used: UsedNonce) =>
  (await t.db`select 1 from mesh_auth_nonce where mailbox_id = ${used.mailboxId} and nonce = ${used.nonce} and nonce_count = ${used.nonceCount}`).length === 1;
/** How many transactions wrote these messages' rows as they are now. */
const transactionsWriting = async (messageIds: string[]) =>
  Number((await t.db<{ count: bigint }[]>`select count(distinct xmin::text) from mesh_message where message_id = any(${messageIds})`)[0]?.count);
/** What each call came to: its value, 'replayed' for a replay's refusal, or the error. */
// Every call of a test is made in one turn of the event loop, so that they share one batch.
const outcomes = async <T>(calls: Promise<T>[]): Promise<unknown[]> =>
  (await Promise.allSettled(calls)).map((settled) => (settled.status === 'fulfilled' ? settled.value : isReplayedNonce(settled.reason) ? 'replayed' : (settled.reason as unknown)));

/** A small message from `sender` to `to`, ready to send in one part. */
function sendCall(template: MeshMessage, to: string, text: string, nonce: UsedNonce | undefined): SendCall {
  const now = new Date();
  const data = Buffer.from(text);
  const message = { ...template, messageId: newMessageId(now), recipientId: to, localId: text, createdAt: now, statusAt: now, acceptedAt: now, fileSize: data.length };
  return { message, data, nonce, chunk: { messageId: message.messageId, uploadId: randomUUID(), size: data.length, sha1: createHash('sha1').update(data).digest('hex'), receivedAt: now } };
}

test('sends made together: each message stored whole; a replay stores nothing; a message the database refuses fails alone', async () => {
  const template = await readMessage(t.db, await mesh.send(sender, recipient, workflowId, 'template'));
  assert.ok(template);
  const fresh = [nonceOf(sender), nonceOf(sender)];
  const replayed = await usedBefore(sender);
  const calls = [sendCall(template, recipient, 'one', fresh[0]), sendCall(template, other, 'two', fresh[1]), sendCall(template, recipient, 'replayed', replayed), sendCall(template, recipient, 'again', fresh[0])];
  assert.deepEqual(await outcomes(calls.map((call) => sendTogether(t.db, call))), [undefined, undefined, 'replayed', 'replayed']);
  for (const [index, call] of calls.entries()) {
    const stored = await readDownload(t.db, call.message.messageId, 1, { recipientId: call.message.recipientId, below: 1e6 }, undefined);
    assert.equal(stored?.onlyPart?.toString(), index < 2 ? call.data.toString() : undefined, call.message.localId ?? '');
  }
  assert.equal(await transactionsWriting(calls.slice(0, 2).map((call) => call.message.messageId)), 1, 'one statement stored both');

  // An id already taken: the batch's statement is refused, and each call is run again alone.
  const clash = { ...sendCall(template, recipient, 'clash', nonceOf(sender)) };
  clash.message = { ...clash.message, messageId: template.messageId };
  const beside = sendCall(template, recipient, 'beside', nonceOf(sender));
  const [clashed, besideOutcome] = await outcomes([sendTogether(t.db, clash), sendTogether(t.db, beside)]);
  assert.equal((clashed as { constraint_name?: string }).constraint_name, 'mesh_message_pkey');
  assert.equal(besideOutcome, undefined);
  assert.equal((await readMessage(t.db, beside.message.messageId))?.localId, 'beside');
});

test('listings made together: each its own inbox, page and filter; a replay is refused', async () => {
  // In id order, as an inbox lists them.
  const sent = (await Promise.all(['a', 'b', 'c'].map((text) => mesh.send(sender, recipient, workflowId, text)))).sort();
  const mine = { recipientId: recipient, limit: 10, filter: undefined };
  const replayed = await usedBefore(other);
  const answers = await outcomes([
    listTogether(t.db, { ...mine, after: undefined, nonce: nonceOf(recipient) }),
    listTogether(t.db, { ...mine, after: sent[0], nonce: nonceOf(recipient) }),
    listTogether(t.db, { ...mine, after: undefined, limit: 1, filter: { match: 'begins', value: workflowId.slice(0, 4), negate: true }, nonce: undefined }),
    listTogether(t.db, { ...mine, recipientId: other, after: undefined, nonce: replayed }),
  ]);
  const [all, afterFirst, filteredOut] = answers as { messageIds: string[]; count: number }[];
  assert.deepEqual(all?.messageIds.filter((id) => sent.includes(id)), sent);
  assert.equal(all?.count, all?.messageIds.length);
  assert.deepEqual(afterFirst?.messageIds.filter((id) => sent.includes(id)), sent.slice(1));
  assert.deepEqual(filteredOut?.messageIds, [], 'a negated filter of its own workflow leaves nothing');
  assert.equal(answers[3], 'replayed');
});

test('downloads made together: each its own message and bytes, none of an unknown id; a replay is refused', async () => {
  const [a, b] = await Promise.all(['first', 'second'].map((text) => mesh.send(sender, recipient, workflowId, text)));
  const onlyPart = { recipientId: recipient, below: 1e6 };
  const replayed = await usedBefore(recipient);
  const answers = await outcomes([
    downloadTogether(t.db, { messageId: a!, chunkNumber: 1, onlyPart, nonce: nonceOf(recipient) }),
    downloadTogether(t.db, { messageId: b!, chunkNumber: 1, onlyPart, nonce: nonceOf(recipient) }),
    downloadTogether(t.db, { messageId: b!, chunkNumber: 2, onlyPart: undefined, nonce: undefined }),
    downloadTogether(t.db, { messageId: 'NO-SUCH-MESSAGE', chunkNumber: 1, onlyPart, nonce: undefined }),
    downloadTogether(t.db, { messageId: a!, chunkNumber: 1, onlyPart, nonce: replayed }),
  ]);
  const [first, second, noChunk] = answers as { message: MeshMessage; chunk?: { chunkNumber: number }; onlyPart?: Buffer }[];
  assert.equal(first?.onlyPart?.toString(), 'first');
  assert.equal(second?.onlyPart?.toString(), 'second');
  assert.equal(second?.chunk?.chunkNumber, 1);
  assert.deepEqual([noChunk?.message.messageId, noChunk?.chunk, noChunk?.onlyPart], [b, undefined, undefined]);
  assert.deepEqual(answers.slice(3), [undefined, 'replayed']);
});

test('acknowledgements made together: each answered as alone; a replayed nonce, earlier or in the batch, refuses its call only and it does nothing', async () => {
  const [first, second, third] = await Promise.all(['1', '2', '3'].map((text) => mesh.send(sender, recipient, workflowId, text)));
  const fresh = [nonceOf(recipient), nonceOf(recipient), nonceOf(recipient)];
  const replayed = await usedBefore(recipient);
  const at = new Date();
  const ack = (recipientId: string, messageId: string | undefined, nonce: UsedNonce | undefined) => acknowledgeTogether(t.db, { recipientId, messageId: messageId!, at, nonce });
  const answers = await outcomes([
    ack(recipient, first, fresh[0]), ack(recipient, second, fresh[1]), ack(recipient, first, fresh[2]), ack(recipient, third, replayed), ack(recipient, third, fresh[0]), ack(other, second, undefined),
  ]);
  const [firstTaken, secondTaken] = answers as MeshMessage[];
  assert.deepEqual([firstTaken?.messageId, firstTaken?.status, secondTaken?.messageId], [first, 'acknowledged', second]);
  assert.deepEqual(answers.slice(2), [undefined, 'replayed', 'replayed', undefined], "the first of the batch took the message; replays refused; someone else's message not taken");
  assert.equal((await readMessage(t.db, third!))?.status, 'accepted', 'a refused call did nothing');
  for (const used of fresh) assert.ok(await nonceRecorded(used));
  assert.equal(await transactionsWriting([first!, second!]), 1, 'one statement acknowledged both');
});
