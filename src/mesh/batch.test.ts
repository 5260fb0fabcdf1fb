// MESH calls made together run as one statement of each kind (batch-store.ts, nonce-batch.ts): each
// still gets the answer it would get alone, a nonce used before (earlier, or by an earlier call of
// the same batch) refuses its own call only and that call does nothing, and a call the database
// refuses fails alone.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';
import { acknowledgeTogether, downloadTogether, listTogether, sendTogether, type SendCall } from './batch-store.ts';
import { isReplayedNonce, useNonce, type UsedNonce } from './directory-store.ts';
import { newMessageId } from './message-id.ts';
import { readMessage, type MeshMessage } from './store.ts';

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
/**
 * What each call came to: its value, 'replayed' for a replay's refusal, or the error. Every call of
 * a test is made in one turn of the event loop, so that they share one batch.
 */
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
    const stored = await downloadTogether(t.db, { messageId: call.message.messageId, chunkNumber: 1, onlyPart: { recipientId: call.message.recipientId, below: 1e6 }, nonce: undefined });
    assert.equal(stored?.onlyPart?.toString(), index < 2 ? call.data.toString() : undefined, call.message.localId ?? '');
  }
  assert.equal(await transactionsWriting(calls.slice(0, 2).map((call) => call.message.messageId)), 1, 'one statement stored both');

  // An id already taken: the batch's statement is refused, and its calls are run again, in order,
  // in smaller batches down to one alone. Of two calls bringing one nonce, the first still acts.
  const clash = { ...sendCall(template, recipient, 'clash', nonceOf(sender)) };
  clash.message = { ...clash.message, messageId: template.messageId };
  const shared = nonceOf(sender);
  const beside = sendCall(template, recipient, 'beside', shared);
  const twin = sendCall(template, recipient, 'twin', shared);
  const [clashed, besideOutcome, twinOutcome] = await outcomes([sendTogether(t.db, clash), sendTogether(t.db, beside), sendTogether(t.db, twin)]);
  assert.equal((clashed as { constraint_name?: string }).constraint_name, 'mesh_message_pkey');
  assert.deepEqual([besideOutcome, twinOutcome], [undefined, 'replayed']);
  assert.equal((await readMessage(t.db, beside.message.messageId))?.localId, 'beside');
  assert.equal(await readMessage(t.db, twin.message.messageId), undefined, 'the replay stored nothing');
});

test('listings made together: each its own inbox, page, limit and filter; a replay is refused', async () => {
  // In id order, as an inbox lists them.
  const sent = (await Promise.all(['a', 'b', 'c'].map((text) => mesh.send(sender, recipient, workflowId, text)))).sort();
  const theirs = await mesh.send(sender, other, workflowId, 'theirs');
  const mine = { recipientId: recipient, after: undefined, limit: 10, filter: undefined };
  const replayed = await usedBefore(other);
  const answers = await outcomes([
    listTogether(t.db, { ...mine, nonce: nonceOf(recipient) }),
    listTogether(t.db, { ...mine, after: sent[0], nonce: nonceOf(recipient) }),
    listTogether(t.db, { ...mine, limit: 1, nonce: undefined }),
    listTogether(t.db, { ...mine, filter: { match: 'equals', value: workflowId, negate: false }, nonce: undefined }),
    listTogether(t.db, { ...mine, filter: { match: 'begins', value: workflowId.slice(0, 4), negate: true }, nonce: undefined }),
    listTogether(t.db, { ...mine, recipientId: other, nonce: nonceOf(other) }),
    listTogether(t.db, { ...mine, recipientId: other, nonce: replayed }),
  ]);
  const [all, afterFirst, one, sameWorkflow, filteredOut, others] = answers as { messageIds: string[]; count: number }[];
  assert.ok(all && afterFirst && one && sameWorkflow && filteredOut && others);
  assert.deepEqual(all.messageIds.filter((id) => sent.includes(id)), sent);
  assert.equal(all.count, all.messageIds.length);
  assert.ok(!all.messageIds.includes(theirs), "another mailbox's message is not listed");
  assert.deepEqual(afterFirst.messageIds, all.messageIds.slice(all.messageIds.indexOf(sent[0]!) + 1));
  assert.deepEqual(one.messageIds, all.messageIds.slice(0, 1));
  assert.deepEqual(sameWorkflow.messageIds, all.messageIds, 'every message of the inbox is of this workflow');
  assert.deepEqual(filteredOut.messageIds, [], 'a negated filter of its own workflow leaves nothing');
  assert.ok(others.messageIds.includes(theirs) && !others.messageIds.some((id) => sent.includes(id)), 'the other mailbox lists its own');
  assert.equal(answers[6], 'replayed');
});

test('downloads made together: each its own message and bytes, the bytes only to its recipient while in the inbox; a replay is refused', async () => {
  const [a, b, gone] = await Promise.all(['first', 'second', 'gone'].map((text) => mesh.send(sender, recipient, workflowId, text)));
  await acknowledgeTogether(t.db, { recipientId: recipient, messageId: gone!, at: new Date(), nonce: undefined });
  const onlyPart = { recipientId: recipient, below: 1e6 };
  const replayed = await usedBefore(recipient);
  const answers = await outcomes([
    downloadTogether(t.db, { messageId: a!, chunkNumber: 1, onlyPart, nonce: nonceOf(recipient) }),
    downloadTogether(t.db, { messageId: b!, chunkNumber: 1, onlyPart, nonce: nonceOf(recipient) }),
    downloadTogether(t.db, { messageId: b!, chunkNumber: 2, onlyPart: undefined, nonce: undefined }),
    downloadTogether(t.db, { messageId: a!, chunkNumber: 1, onlyPart: { ...onlyPart, recipientId: other }, nonce: undefined }),
    downloadTogether(t.db, { messageId: gone!, chunkNumber: 1, onlyPart, nonce: undefined }),
    downloadTogether(t.db, { messageId: a!, chunkNumber: 1, onlyPart: undefined, nonce: undefined }),
    downloadTogether(t.db, { messageId: 'NO-SUCH-MESSAGE', chunkNumber: 1, onlyPart, nonce: undefined }),
    downloadTogether(t.db, { messageId: a!, chunkNumber: 1, onlyPart, nonce: replayed }),
  ]);
  type Found = { message: MeshMessage; chunk?: { chunkNumber: number }; onlyPart?: Buffer };
  const [first, second, noChunk, notTheirs, acknowledged, withoutBytes] = answers as Found[];
  assert.equal(first?.onlyPart?.toString(), 'first');
  assert.equal(second?.onlyPart?.toString(), 'second');
  assert.equal(second?.chunk?.chunkNumber, 1);
  assert.deepEqual([noChunk?.message.messageId, noChunk?.chunk, noChunk?.onlyPart], [b, undefined, undefined]);
  for (const [found, what] of [[notTheirs, 'to another mailbox'], [acknowledged, 'once acknowledged'], [withoutBytes, 'when not asked for']] as const) {
    assert.ok(found?.chunk, what);
    assert.equal(found.onlyPart, undefined, `no bytes ${what}`);
  }
  assert.equal(acknowledged?.message.status, 'acknowledged');
  assert.deepEqual(answers.slice(6), [undefined, 'replayed']);
});

test("acknowledgements made together: each answered as alone; someone else's takes nothing; a replayed nonce, earlier or in the batch, refuses its call only and it does nothing", async () => {
  const [first, second, third, fourth] = await Promise.all(['1', '2', '3', '4'].map((text) => mesh.send(sender, recipient, workflowId, text)));
  const fresh = [nonceOf(recipient), nonceOf(recipient), nonceOf(recipient)];
  const replayed = await usedBefore(recipient);
  const at = new Date();
  const ack = (recipientId: string, messageId: string | undefined, nonce: UsedNonce | undefined) => acknowledgeTogether(t.db, { recipientId, messageId: messageId!, at, nonce });
  const answers = await outcomes([
    ack(other, first, undefined), ack(recipient, first, fresh[0]), ack(recipient, second, fresh[1]), ack(recipient, first, fresh[2]),
    ack(recipient, third, replayed), ack(recipient, third, fresh[0]), ack(other, fourth, undefined),
  ]);
  const [, firstTaken, secondTaken] = answers as MeshMessage[];
  assert.equal(answers[0], undefined, "someone else's acknowledgement, first in the batch, takes nothing");
  assert.deepEqual([firstTaken?.messageId, firstTaken?.status, secondTaken?.messageId], [first, 'acknowledged', second], 'the recipient takes its message all the same');
  assert.deepEqual(answers.slice(3), [undefined, 'replayed', 'replayed', undefined], 'the first of the batch took the message; replays refused; someone else\'s not taken');
  assert.equal((await readMessage(t.db, third!))?.status, 'accepted', 'a refused call did nothing');
  assert.equal((await readMessage(t.db, fourth!))?.status, 'accepted', "someone else's acknowledgement did nothing");
  for (const used of fresh) assert.ok(await nonceRecorded(used));
  assert.equal(await transactionsWriting([first!, second!]), 1, 'one statement acknowledged both');
});
