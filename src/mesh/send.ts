// Sending: a message (or its first chunk) to the outbox, then its further chunks. A message is
// durable before it is acknowledged with a 202, and reaches its recipient's inbox only once every
// chunk has been received (../shared/specs/mesh/specification/mesh-api.yaml, "Send message" and
// "Send chunked message").
import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '../platform/db/connect.ts';
import { sendTogether } from './batch-store.ts';
import { deleteUpload } from './body-store.ts';
import type { PendingNonce } from './authenticate.ts';
import type { MeshDirectory } from './directory-cache.ts';
import type { Mailbox } from './directory-store.ts';
import { MeshErrors } from './errors.ts';
import type { MeshCounters } from './metrics.ts';
import { newMessageId } from './message-id.ts';
import { addChunk, deleteMessage, insertMessage, markAccepted, readMessage, type MeshMessage } from './store.ts';
import { readSmallBody, storeUpload, type StoredUpload } from './upload.ts';

/**
 * What sending needs: the database, the directory as this process remembers it, the clock (so tests
 * can move it), the per-request limit, and what to count.
 */
export type MeshDeps = { db: Database; directory: MeshDirectory; now: () => Date; maxRequestBytes: number; counters?: MeshCounters | undefined };

/** The spec: "Messages that are not downloaded and acknowledged within five days of delivery are removed". */
export const INBOX_LIFETIME_MS = 5 * 24 * 60 * 60 * 1000;
/** "Uncollected messages are completely deleted from the MESH server 30 days after the initial delivery." */
export const RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Chunks per message: far beyond the spec's 100 GB in 100 MB chunks, short of silly. */
const MAX_CHUNKS = 100_000;

/** The headers of a send, by their lower-case names, as the client gave them. */
export type MexHeaders = Record<string, string | undefined>;
export type Body = { contentLength: number | undefined; stream: AsyncIterable<Buffer | string> | undefined };

/** The spec's maximum lengths of the send headers. */
const MAX_LENGTHS: Record<string, number> = {
  'mex-to': 100, 'mex-workflowid': 300, 'mex-chunk-range': 20, 'mex-subject': 500, 'mex-localid': 300, 'mex-filename': 300, 'mex-content-checksum': 100,
};

/** `nonce`: the call's, recorded before the message is (authenticate.ts), with it when it is small. */
export async function sendMessage(deps: MeshDeps, sender: Mailbox, headers: MexHeaders, body: Body, nonce: PendingNonce): Promise<string> {
  const { db } = deps;
  const recipientId = headers['mex-to']?.trim().toUpperCase();
  if (!recipientId) throw MeshErrors.missingRecipient();
  const contentEncoding = checkedContentEncoding(headers['content-encoding']);
  const range = parseChunkRange(headers['mex-chunk-range'] ?? '1:1');
  if (range.chunk !== 1) throw MeshErrors.invalidChunkRange('a message starts with chunk 1');
  for (const [name, max] of Object.entries(MAX_LENGTHS)) {
    if ((headers[name]?.length ?? 0) > max) throw MeshErrors.malformedHeaders(`${name} is longer than ${max} characters`);
  }
  const workflowId = headers['mex-workflowid']?.trim();
  if (!workflowId) throw MeshErrors.malformedHeaders('mex-WorkflowID is required');
  const from = headers['mex-from']?.trim();
  if (from && from.toUpperCase() !== sender.mailboxId) throw MeshErrors.invalidFrom();
  const messageType = headers['mex-messagetype']?.trim().toUpperCase();
  if (messageType && messageType !== 'DATA') throw MeshErrors.invalidMessageType();
  checkLength(body, deps.maxRequestBytes);

  const recipient = await deps.directory.mailbox(recipientId);
  if (!recipient?.active) throw MeshErrors.unregisteredRecipient();
  const roles = await deps.directory.workflowRoles(workflowId, sender.mailboxId, recipient.mailboxId);
  if (!roles.exists) throw MeshErrors.workflowNotRegistered();
  if (!roles.senderMaySend) throw MeshErrors.senderNotAllowed();
  if (!roles.recipientMayReceive) throw MeshErrors.workflowNotRegistered();

  const now = deps.now();
  const message: MeshMessage = {
    messageId: newMessageId(now), messageType: 'DATA', senderId: sender.mailboxId, recipientId: recipient.mailboxId, workflowId,
    localId: optional(headers['mex-localid']), subject: optional(headers['mex-subject']), fileName: optional(headers['mex-filename']),
    partnerId: optional(headers['mex-partnerid']), contentType: optional(headers['content-type']), contentEncoding,
    checksum: optional(headers['mex-content-checksum']), compressed: flag(headers['mex-content-compressed']), encrypted: flag(headers['mex-content-encrypted']),
    chunkCount: range.of, fileSize: 0, status: 'uploading', statusAt: now,
    linkedMessageId: null, reportedRecipientId: null, statusEvent: null, statusCode: null, statusDescription: null,
    createdAt: now, acceptedAt: null, acknowledgedAt: null, inboxExpiresAt: null, deleteAfter: new Date(now.getTime() + RETENTION_MS),
  };
  const small = await readSmallBody(body.stream ?? []);
  if (small.whole !== undefined) {
    await sendInOnePart(deps, message, small.whole, nonce);
    return message.messageId;
  }
  await nonce.spend();
  // The message row first (the parts hang off it), unseen by anyone until its first chunk commits.
  await insertMessage(db, message);
  try {
    const upload = await storeUpload(db, { messageId: message.messageId, chunkNumber: 1 }, small.stream, deps.maxRequestBytes);
    if (upload.size === 0) throw MeshErrors.missingData();
    await commitChunk(deps, message.messageId, upload);
  } catch (error) {
    await deleteMessage(db, message.messageId);
    throw error;
  }
  return message.messageId;
}

/**
 * A first chunk small enough to be one part goes in with its message in one statement, durable
 * before the 202 like any other (a synchronous commit); a message of that one chunk is delivered by it.
 */
async function sendInOnePart(deps: MeshDeps, message: MeshMessage, data: Buffer, nonce: PendingNonce): Promise<void> {
  if (data.length === 0) throw MeshErrors.missingData();
  if (data.length > deps.maxRequestBytes) throw MeshErrors.tooLarge(deps.maxRequestBytes);
  const now = message.createdAt;
  const delivered = message.chunkCount === 1;
  const sent: MeshMessage = delivered
    ? { ...message, status: 'accepted', acceptedAt: now, inboxExpiresAt: new Date(now.getTime() + INBOX_LIFETIME_MS), fileSize: data.length }
    : message;
  const chunk = { messageId: message.messageId, chunkNumber: 1, uploadId: randomUUID(), size: data.length, partCount: 1, sha1: createHash('sha1').update(data).digest('hex'), receivedAt: now };
  await nonce.within((used) => sendTogether(deps.db, { message: sent, chunk, data, nonce: used }));
  if (delivered) deps.counters?.accepted(message.workflowId);
}

export async function sendChunk(deps: MeshDeps, sender: Mailbox, messageId: string, chunkNumber: number, headers: MexHeaders, body: Body): Promise<void> {
  const { db } = deps;
  const rangeHeader = headers['mex-chunk-range'];
  if (!rangeHeader) throw MeshErrors.invalidChunkRange('mex-Chunk-Range is required').about(messageId);
  const range = parseChunkRange(rangeHeader, messageId);
  if (range.chunk !== chunkNumber) throw MeshErrors.invalidChunkRange('the range does not match the chunk number in the URL').about(messageId);
  const message = await readMessage(db, messageId);
  if (message === undefined) throw MeshErrors.messageNotFound();
  if (message.senderId !== sender.mailboxId) throw MeshErrors.notYourMessage();
  if (message.status !== 'uploading') throw MeshErrors.finalised().about(messageId);
  if (range.of !== message.chunkCount) throw MeshErrors.invalidChunkRange(`the message has ${message.chunkCount} chunks, not ${range.of}`).about(messageId);
  if (checkedContentEncoding(headers['content-encoding']) !== message.contentEncoding) throw MeshErrors.contentEncodingChanged().about(messageId);
  if (chunkNumber === 1) throw MeshErrors.chunkAlreadyReceived(1).about(messageId); // chunk 1 came with the message
  checkLength(body, deps.maxRequestBytes, messageId);

  const upload = await storeUpload(db, { messageId, chunkNumber }, body.stream ?? [], deps.maxRequestBytes);
  try {
    if (upload.size === 0) throw MeshErrors.missingData().about(messageId);
    await commitChunk(deps, messageId, upload);
  } catch (error) {
    await deleteUpload(db, upload);
    throw error;
  }
}

/**
 * Commits a received chunk and, with the last one, delivers the message: one short transaction,
 * with the message locked so that two last chunks arriving together deliver it exactly once.
 */
async function commitChunk(deps: MeshDeps, messageId: string, upload: StoredUpload): Promise<void> {
  const delivered = await deps.db.begin(async (tx) => {
    const message = await readMessage(tx, messageId, { forUpdate: true });
    if (message === undefined) throw MeshErrors.messageNotFound();
    if (message.status !== 'uploading') throw MeshErrors.finalised().about(messageId);
    const now = deps.now();
    const received = await addChunk(tx, { messageId, chunkNumber: upload.chunkNumber, uploadId: upload.uploadId, size: upload.size, partCount: upload.partCount, sha1: upload.sha1, receivedAt: now });
    if (!received.added) throw MeshErrors.chunkAlreadyReceived(upload.chunkNumber).about(messageId);
    if (received.chunks !== message.chunkCount) return undefined;
    await markAccepted(tx, messageId, now, new Date(now.getTime() + INBOX_LIFETIME_MS), received.bytes);
    return message;
  });
  if (delivered !== undefined) deps.counters?.accepted(delivered.workflowId);
}

/** `mex-Chunk-Range: k:n`, with 1 ≤ k ≤ n. */
export function parseChunkRange(value: string, messageId?: string): { chunk: number; of: number } {
  const match = /^\s*(\d{1,6})\s*:\s*(\d{1,6})\s*$/.exec(value);
  const chunk = Number(match?.[1]);
  const of = Number(match?.[2]);
  if (!match || chunk < 1 || chunk > of || of > MAX_CHUNKS) {
    const error = MeshErrors.invalidChunkRange(`'${value}' is not k:n with 1 <= k <= n <= ${MAX_CHUNKS}`);
    throw messageId === undefined ? error : error.about(messageId);
  }
  return { chunk, of };
}

/** gzip or none: MESH carries gzip through to the recipient as it came and knows no other. */
function checkedContentEncoding(value: string | undefined): string | null {
  const encoding = value?.trim().toLowerCase() ?? '';
  if (encoding === '') return null;
  if (encoding !== 'gzip') throw MeshErrors.unsupportedContentEncoding();
  return encoding;
}

function checkLength(body: Body, limit: number, messageId?: string): void {
  if (body.contentLength !== undefined && body.contentLength > limit) throw MeshErrors.tooLarge(limit);
  if (body.contentLength === 0 || body.stream === undefined) throw messageId === undefined ? MeshErrors.missingData() : MeshErrors.missingData().about(messageId);
}

function optional(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

/** Y / N and the spellings MESH clients use for them. */
function flag(value: string | undefined): boolean {
  return ['y', 'yes', 'true', '1'].includes(value?.trim().toLowerCase() ?? '');
}
