// Receiving: the inbox listing and count, downloading a message whole or chunk by chunk, and
// acknowledging it (../shared/specs/mesh/specification/mesh-api.yaml, "Inbox"). A message is
// only ever visible to its recipient, and only while it is in the inbox.
import { Readable } from 'node:stream';
import type { Database } from '../platform/db/connect.ts';
import { COPY_FROM_BYTES, chunkBody } from './body-store.ts';
import type { PendingNonce } from './authenticate.ts';
import type { Mailbox } from './directory-store.ts';
import { MeshErrors } from './errors.ts';
import { MESSAGE_ID } from './message-id.ts';
import { acknowledgeTogether, downloadTogether, listTogether } from './batch-store.ts';
import { countInbox, readMessage, type ChunkRecord, type MeshMessage, type WorkflowFilter } from './store.ts';

export const DEFAULT_MAX_RESULTS = 500;
const MIN_MAX_RESULTS = 10;
const MAX_MAX_RESULTS = 5000;

export type InboxQuery = { max_results?: string; continue_from?: string; workflow_filter?: string };
export type InboxPage = { messageIds: string[]; maxResults: number; workflowFilter: string | undefined; continueAfter: string | undefined; approxInboxCount: number };

/** `nonce`: the call's, recorded by the listing's statement (authenticate.ts). */
export async function listInboxPage(db: Database, mailbox: Mailbox, query: InboxQuery, nonce: PendingNonce): Promise<InboxPage> {
  const maxResults = query.max_results === undefined ? DEFAULT_MAX_RESULTS : Number(query.max_results);
  if (!Number.isInteger(maxResults) || maxResults < MIN_MAX_RESULTS || maxResults > MAX_MAX_RESULTS) {
    throw MeshErrors.invalidRequest(`max_results must be a whole number from ${MIN_MAX_RESULTS} to ${MAX_MAX_RESULTS}`);
  }
  const after = query.continue_from === undefined ? undefined : decodeContinueFrom(query.continue_from);
  const filter = query.workflow_filter === undefined ? undefined : parseWorkflowFilter(query.workflow_filter);
  // One more than asked for tells whether there is a next page.
  const { messageIds: ids, count: approxInboxCount } = await nonce.within((used) => listTogether(db, { recipientId: mailbox.mailboxId, after, limit: maxResults + 1, filter, nonce: used }));
  const messageIds = ids.slice(0, maxResults);
  const continueAfter = ids.length > maxResults ? messageIds.at(-1) : undefined;
  return { messageIds, maxResults, workflowFilter: query.workflow_filter, continueAfter, approxInboxCount };
}

/**
 * The spec's `workflow_filter`: `X` equals, `!X` does not equal, `X*` begins with, `*X*` contains,
 * and `!` before either of the last two negates them.
 */
export function parseWorkflowFilter(value: string): WorkflowFilter {
  let rest = value.trim();
  const negate = rest.startsWith('!');
  if (negate) rest = rest.slice(1);
  let filter: WorkflowFilter;
  if (rest.length > 2 && rest.startsWith('*') && rest.endsWith('*')) filter = { match: 'contains', value: rest.slice(1, -1), negate };
  else if (rest.length > 1 && rest.endsWith('*')) filter = { match: 'begins', value: rest.slice(0, -1), negate };
  else filter = { match: 'equals', value: rest, negate };
  if (filter.value === '' || filter.value.includes('*')) throw MeshErrors.invalidRequest(`workflow_filter '${value}' is not X, !X, X*, !X*, *X* or !*X*`);
  return filter;
}

/** v2 pages on with an opaque token (base64 of the last id); v1 clients send the last message id itself. */
export function encodeContinueFrom(messageId: string): string {
  return Buffer.from(JSON.stringify({ message_id: messageId })).toString('base64url');
}

export function decodeContinueFrom(value: string): string {
  if (MESSAGE_ID.test(value)) return value;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    const id = (decoded as { message_id?: unknown } | null)?.message_id;
    if (typeof id === 'string' && MESSAGE_ID.test(id)) return id;
  } catch {
    // refused below
  }
  throw MeshErrors.invalidRequest('continue_from is not a value this server gave in links.next');
}

export async function inboxCount(db: Database, mailbox: Mailbox, nonce: PendingNonce): Promise<number> {
  return nonce.within((used) => countInbox(db, mailbox.mailboxId, used));
}

/** A message of this mailbox's inbox, or the refusal: 404 unknown, 403 someone else's, 410 no longer there. */
function inboxMessage(message: MeshMessage | undefined, mailbox: Mailbox): MeshMessage {
  // Still uploading, a message does not exist for its recipient yet.
  if (message === undefined || message.status === 'uploading') throw MeshErrors.messageNotFound();
  if (message.recipientId !== mailbox.mailboxId) throw MeshErrors.notYourMessage();
  // Acknowledged, expired or failed: the spec says it "cannot be downloaded again".
  if (message.status !== 'accepted') throw MeshErrors.gone();
  return message;
}

export type Download = { message: MeshMessage; chunkNumber: number; chunk: ChunkRecord | undefined; body: Readable | undefined; partial: boolean };

/**
 * A chunk of a message to send: 206 while more chunks follow, 200 for the last. A REPORT has no
 * body. The body streams out of the database a few parts at a time as the client takes it; a
 * small one (one part) comes with the message, in the same round trip.
 */
export async function openDownload(db: Database, mailbox: Mailbox, messageId: string, chunkNumber: number, withBody: boolean, nonce: PendingNonce): Promise<Download> {
  const onlyPart = withBody ? { recipientId: mailbox.mailboxId, below: COPY_FROM_BYTES } : undefined;
  const found = await nonce.within((used) => downloadTogether(db, { messageId, chunkNumber, onlyPart, nonce: used }));
  const message = inboxMessage(found?.message, mailbox);
  if (message.messageType === 'REPORT') return { message, chunkNumber, chunk: undefined, body: undefined, partial: false };
  if (!Number.isInteger(chunkNumber) || chunkNumber < 1 || chunkNumber > message.chunkCount) throw MeshErrors.messageNotFound();
  const chunk = found?.chunk;
  if (chunk === undefined) throw MeshErrors.messageNotFound();
  const partial = chunkNumber < message.chunkCount;
  if (!withBody) return { message, chunkNumber, chunk, body: undefined, partial };
  const data = found?.onlyPart;
  return { message, chunkNumber, chunk, body: data === undefined ? chunkBody(db, chunk) : Readable.from([data], { objectMode: false }), partial };
}

/** Acknowledges a message of this mailbox's inbox; again is harmless (`acknowledgedNow` is false then). */
export async function acknowledge(db: Database, mailbox: Mailbox, messageId: string, now: Date, nonce: PendingNonce): Promise<{ message: MeshMessage; acknowledgedNow: boolean }> {
  // The usual case in one statement, the nonce's record with it; what else it was, only when it was not that.
  const acknowledged = await nonce.within((used) => acknowledgeTogether(db, { recipientId: mailbox.mailboxId, messageId, at: now, nonce: used }));
  if (acknowledged !== undefined) return { message: acknowledged, acknowledgedNow: true };
  const message = await readMessage(db, messageId);
  if (message === undefined || message.status === 'uploading') throw MeshErrors.messageNotFound();
  if (message.recipientId !== mailbox.mailboxId) throw MeshErrors.notYourMessage();
  return { message, acknowledgedNow: false };
}
