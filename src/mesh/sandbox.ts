// The NHS MESH sandbox's test-only operations (NHSDigital/mesh-sandbox, its admin router and views),
// so that a supplier's tests written against the sandbox run unchanged in OpenSpine's sandbox mode:
// resets, a mailbox's and a message's details, a status event added by hand, a REPORT put into an
// inbox, and the rich inbox and outbox listings. Shapes follow the sandbox's: snake_case, nulls left out.
import type { Database } from '../platform/db/connect.ts';
import { readMailbox, type Mailbox } from './directory-store.ts';
import { MeshErrors } from './errors.ts';
import { decodeContinueFrom, encodeContinueFrom } from './inbox.ts';
import { CENTRAL_SYSTEM_MAILBOX, UNDELIVERED, reportMessage } from './report.ts';
import { deleteAllMessages, deleteInboxMessages, richListing, setMessageStatus, type RichMessage } from './sandbox-store.ts';
import { INBOX_LIFETIME_MS } from './send.ts';
import { insertMessage, readMessage, type MeshMessage, type MessageStatus } from './store.ts';

/** The sandbox's sender of reports, as its admin report shows it. */
const CENTRAL_SYSTEM_NAME = 'Central System Mailbox';
const RICH_DEFAULT_SINCE_MS = 30 * 24 * 60 * 60 * 1000;

export class SandboxNotFound extends Error {}

export async function resetAllMailboxes(db: Database): Promise<void> {
  await deleteAllMessages(db);
}

/** Empties one mailbox's inbox; the messages it sent to others stay. */
export async function resetMailbox(db: Database, mailboxId: string): Promise<void> {
  if ((await readMailbox(db, mailboxId)) === undefined) throw new SandboxNotFound('mailbox does not exist');
  await deleteInboxMessages(db, mailboxId);
}

/** The sandbox's MailboxDetails: seven fields, empty strings for what is not known. */
export async function mailboxDetails(db: Database, mailboxId: string): Promise<Record<string, unknown>> {
  const mailbox = await readMailbox(db, mailboxId);
  if (mailbox === undefined) throw new SandboxNotFound('mailbox does not exist');
  return {
    mailbox_id: mailbox.mailboxId, mailbox_name: mailbox.mailboxName, billing_entity: mailbox.billingEntity, ods_code: mailbox.odsCode,
    org_code: mailbox.orgCode ?? '', org_name: mailbox.orgName ?? '', active: mailbox.active,
  };
}

const failed = (message: MeshMessage) => message.status === 'undeliverable' || message.status === 'error';
const iso = (time: Date | null) => time?.toISOString() ?? null;
const title = (word: string) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();

/** The sandbox's MessageDetails of any message, whoever sent or receives it. */
export async function messageDetails(db: Database, messageId: string): Promise<Record<string, unknown>> {
  const message = await readMessage(db, messageId);
  if (message === undefined) throw new SandboxNotFound('message does not exist');
  const [sender, recipient] = await Promise.all([message.senderId === CENTRAL_SYSTEM_MAILBOX ? undefined : readMailbox(db, message.senderId), readMailbox(db, message.recipientId)]);
  const report = message.messageType === 'REPORT';
  const error = report || failed(message);
  return withoutNulls({
    checksum: message.checksum ?? '',
    chunk_count: message.chunkCount,
    content_encoding: message.contentEncoding ?? '',
    download_timestamp: iso(message.acknowledgedAt),
    expiry_time: iso(message.inboxExpiresAt),
    failure_date: error && !report ? iso(message.statusAt) : null,
    failure_diagnostic: error && !report ? message.statusDescription : null,
    filename: message.fileName ?? `${message.messageId}.dat`,
    file_size: message.fileSize,
    is_compressed: message.compressed,
    is_encrypted: message.encrypted,
    linked_msg_id: message.linkedMessageId,
    local_id: message.localId ?? '',
    message_id: message.messageId,
    message_type: title(message.messageType),
    ...party('recipient', recipient, message.recipientId),
    ...party('sender', sender, message.senderId),
    status: title(message.status),
    status_code: report ? message.statusCode : null,
    status_description: report ? message.statusDescription : null,
    status_event: report ? message.statusEvent : null,
    status_success: error ? 'ERROR' : 'SUCCESS',
    status_timestamp: report ? iso(message.statusAt) : null,
    subject: message.subject ?? '',
    upload_timestamp: iso(message.createdAt),
    workflow_id: message.workflowId,
  });
}

function party(role: 'sender' | 'recipient', mailbox: Mailbox | undefined, mailboxId: string): Record<string, unknown> {
  const central = mailboxId === CENTRAL_SYSTEM_MAILBOX;
  return {
    [role]: mailboxId,
    [`${role}_name`]: central ? CENTRAL_SYSTEM_NAME : (mailbox?.mailboxName ?? null),
    [`${role}_ods_code`]: mailbox?.odsCode ?? null,
    [`${role}_org_code`]: mailbox?.orgCode ?? null,
    [`${role}_org_name`]: mailbox?.orgName ?? null,
  };
}

export type MessageEventInput = { status: MessageStatus; code?: string | null; event?: string | null; description?: string | null; linked_message_id?: string | null };

/** Puts a message in the state given, as the sandbox's "add message event" does (accepted again: back in the inbox). */
export async function addMessageEvent(db: Database, messageId: string, input: MessageEventInput, now: Date): Promise<void> {
  const change = { status: input.status, event: input.event ?? null, code: input.code ?? null, description: input.description ?? null, linkedMessageId: input.linked_message_id ?? null };
  if (!(await setMessageStatus(db, messageId, change, now, new Date(now.getTime() + INBOX_LIFETIME_MS)))) throw new SandboxNotFound('message does not exist');
}

export type ReportInput = {
  mailbox_id: string; code: string; description: string; workflow_id: string; status?: 'undeliverable' | 'error';
  subject?: string | null; local_id?: string | null; file_name?: string | null; linked_message_id?: string | null;
};

/**
 * A REPORT put straight into a mailbox's inbox. As the sandbox does, an `undeliverable` one is a
 * non-delivery report (code 14, "NDR" subject) whatever code it was given; an `error` one carries
 * the code and description given.
 */
export async function createReport(db: Database, input: ReportInput, now: Date): Promise<string> {
  const recipient = await readMailbox(db, input.mailbox_id.toUpperCase());
  if (recipient === undefined) throw new SandboxNotFound('mailbox does not exist');
  const common = { recipientId: recipient.mailboxId, workflowId: input.workflow_id, linkedMessageId: input.linked_message_id ?? null, localId: input.local_id ?? null };
  const report =
    (input.status ?? 'undeliverable') === 'undeliverable'
      ? reportMessage({ ...common, status: UNDELIVERED, subject: input.subject ? `NDR: ${input.subject}` : 'NDR' }, now)
      : reportMessage({ ...common, status: { event: 'TRANSFER', code: input.code, description: input.description }, subject: input.subject ?? null, fileName: input.file_name ?? null }, now);
  await insertMessage(db, report);
  return report.messageId;
}

export type RichListingQuery = { start_time?: string; continue_from?: string; max_results?: string };

/**
 * The rich inbox (every message delivered to the mailbox, in any state) or outbox (every message it
 * sent), newest first, from `start_time` (30 days ago by default), paged by `continue_from`.
 */
export async function richView(db: Database, box: 'inbox' | 'outbox', mailbox: Mailbox, query: RichListingQuery, now: Date): Promise<Record<string, unknown>> {
  // The sandbox's bounds: inbox 1 to 2000 (100 by default); outbox at most 100.
  const asked = query.max_results === undefined ? 100 : Number(query.max_results);
  if (!Number.isInteger(asked) || asked < 1 || asked > 2000) throw MeshErrors.invalidRequest('max_results must be a whole number from 1 to 2000');
  const maxResults = box === 'outbox' ? Math.min(asked, 100) : asked;
  const since = query.start_time === undefined ? new Date(now.getTime() - RICH_DEFAULT_SINCE_MS) : new Date(query.start_time);
  if (Number.isNaN(since.getTime())) throw MeshErrors.invalidRequest('start_time must be an ISO 8601 date and time');
  const before = query.continue_from === undefined ? undefined : decodeContinueFrom(query.continue_from);
  const found = await richListing(db, box, { mailboxId: mailbox.mailboxId, since, before, limit: maxResults + 1 });
  const messages = found.slice(0, maxResults);
  const link = (continueFrom?: string) => {
    const search = new URLSearchParams({ start_time: since.toISOString(), max_results: String(maxResults), ...(continueFrom === undefined ? {} : { continue_from: continueFrom }) });
    return `/messageexchange/${mailbox.mailboxId}/${box}/rich?${search.toString()}`;
  };
  const last = messages.at(-1);
  return {
    valid_at: now.toISOString(),
    messages: messages.map((message) => (box === 'inbox' ? richInboxMessage(message) : richOutboxMessage(message))),
    links: { self: link(), ...(found.length > maxResults && last ? { next: link(encodeContinueFrom(last.messageId)) } : {}) },
  };
}

function richMessage(message: RichMessage): Record<string, unknown> {
  return {
    message_id: message.messageId,
    expiry_timestamp: iso(message.inboxExpiresAt),
    local_id: message.localId,
    message_type: message.messageType,
    recipient: message.recipientId,
    recipient_name: message.recipientName,
    sender: message.senderId,
    sender_name: message.senderId === CENTRAL_SYSTEM_MAILBOX ? CENTRAL_SYSTEM_NAME : message.senderName,
    status: message.status,
    workflow_id: message.workflowId,
    total_chunks: message.chunkCount,
  };
}

/** In the inbox, sent_date is when the message was delivered and a status code shows only for reports and errors. */
function richInboxMessage(message: RichMessage): Record<string, unknown> {
  const statusCode = message.messageType === 'REPORT' || message.status === 'error' ? message.statusCode : null;
  return withoutNulls({ ...richMessage(message), sent_date: iso(message.acceptedAt), status_code: statusCode });
}

/** In the outbox, sent_date is when it was sent, and the sandbox gives empty strings rather than nulls. */
function richOutboxMessage(message: RichMessage): Record<string, unknown> {
  const base = richMessage(message);
  return withoutNulls({ ...base, local_id: message.localId ?? '', recipient_name: message.recipientName ?? '', sent_date: iso(message.createdAt), status_code: message.statusCode ?? '' });
}

function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null && value !== undefined));
}
