// The SQL of MESH's messages and their chunks (the bytes are body-store.ts's).
import type { Queryable } from '../platform/db/connect.ts';
import { withNonce, type UsedNonce } from './directory-store.ts';

export const MESSAGE_STATUSES = ['uploading', 'accepted', 'acknowledged', 'undeliverable', 'error'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export type MessageType = 'DATA' | 'REPORT';

export type MeshMessage = {
  messageId: string;
  messageType: MessageType;
  senderId: string;
  recipientId: string;
  workflowId: string;
  localId: string | null;
  subject: string | null;
  fileName: string | null;
  partnerId: string | null;
  contentType: string | null;
  contentEncoding: string | null;
  checksum: string | null;
  compressed: boolean;
  encrypted: boolean;
  chunkCount: number;
  fileSize: number;
  status: MessageStatus;
  statusAt: Date;
  linkedMessageId: string | null;
  /** For a REPORT: the intended receiver of the message it reports on, its Mex-To (migration 0015). */
  reportedRecipientId: string | null;
  statusEvent: string | null;
  statusCode: string | null;
  statusDescription: string | null;
  createdAt: Date;
  acceptedAt: Date | null;
  acknowledgedAt: Date | null;
  inboxExpiresAt: Date | null;
  deleteAfter: Date;
};

export type ChunkRecord = { messageId: string; chunkNumber: number; uploadId: string; size: number; partCount: number; sha1: string; receivedAt: Date };

export type MessageRow = {
  message_id: string; message_type: MessageType; sender_id: string; recipient_id: string; workflow_id: string;
  local_id: string | null; subject: string | null; file_name: string | null; partner_id: string | null;
  content_type: string | null; content_encoding: string | null; checksum: string | null; compressed: boolean; encrypted: boolean;
  chunk_count: number; file_size: bigint | number; status: MessageStatus; status_at: Date;
  linked_message_id: string | null; reported_recipient_id: string | null; status_event: string | null; status_code: string | null; status_description: string | null;
  created_at: Date; accepted_at: Date | null; acknowledged_at: Date | null; inbox_expires_at: Date | null; delete_after: Date;
};

export const toMessage = (row: MessageRow): MeshMessage => ({
  messageId: row.message_id, messageType: row.message_type, senderId: row.sender_id, recipientId: row.recipient_id, workflowId: row.workflow_id,
  localId: row.local_id, subject: row.subject, fileName: row.file_name, partnerId: row.partner_id,
  contentType: row.content_type, contentEncoding: row.content_encoding, checksum: row.checksum, compressed: row.compressed, encrypted: row.encrypted,
  chunkCount: row.chunk_count, fileSize: Number(row.file_size), status: row.status, statusAt: row.status_at,
  linkedMessageId: row.linked_message_id, reportedRecipientId: row.reported_recipient_id, statusEvent: row.status_event, statusCode: row.status_code, statusDescription: row.status_description,
  createdAt: row.created_at, acceptedAt: row.accepted_at, acknowledgedAt: row.acknowledged_at, inboxExpiresAt: row.inbox_expires_at, deleteAfter: row.delete_after,
});

/** A message as its table's row. */
export const messageRow = (message: MeshMessage) => ({
  message_id: message.messageId, message_type: message.messageType, sender_id: message.senderId, recipient_id: message.recipientId, workflow_id: message.workflowId,
  local_id: message.localId, subject: message.subject, file_name: message.fileName, partner_id: message.partnerId,
  content_type: message.contentType, content_encoding: message.contentEncoding, checksum: message.checksum, compressed: message.compressed, encrypted: message.encrypted,
  chunk_count: message.chunkCount, file_size: message.fileSize, status: message.status, status_at: message.statusAt,
  linked_message_id: message.linkedMessageId, reported_recipient_id: message.reportedRecipientId, status_event: message.statusEvent, status_code: message.statusCode, status_description: message.statusDescription,
  created_at: message.createdAt, accepted_at: message.acceptedAt, acknowledged_at: message.acknowledgedAt, inbox_expires_at: message.inboxExpiresAt, delete_after: message.deleteAfter,
});

export async function insertMessage(db: Queryable, message: MeshMessage): Promise<void> {
  await db`insert into mesh_message ${db(messageRow(message))}`;
}

/** Adds several messages (a sweep's REPORTs) in one statement. */
export async function insertMessages(db: Queryable, messages: MeshMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await db`insert into mesh_message ${db(messages.map(messageRow))}`;
}

/** A message by its id, locked against concurrent changes with `forUpdate` (inside a transaction); `nonce`, a token's nonce recorded by the same statement (withNonce). */
export async function readMessage(db: Queryable, messageId: string, options: { forUpdate?: boolean; nonce?: UsedNonce | undefined } = {}): Promise<MeshMessage | undefined> {
  const [row] = await db<MessageRow[]>`
    ${withNonce(db, options.nonce)}
    select * from mesh_message where message_id = ${messageId} ${options.forUpdate ? db`for update` : db``}`;
  return row && toMessage(row);
}

export async function deleteMessage(db: Queryable, messageId: string): Promise<void> {
  await db`delete from mesh_message where message_id = ${messageId}`;
}

/** The largest chunk number PostgreSQL's integer holds: any larger is no chunk of any message. */
const LAST_INTEGER = 2 ** 31 - 1;

export type DownloadRecord = { message: MeshMessage; chunk: ChunkRecord | undefined; onlyPart: Buffer | undefined };

/** A message's row with the chunk asked for (its columns null when there is no such chunk) and, maybe, its bytes. */
export type DownloadRow = MessageRow & { upload_id: string | null; size: bigint | number | null; part_count: number | null; sha1: string | null; received_at: Date | null; data: Buffer | null };

/** The chunk number to look for: an impossible one (0, no chunk) for anything no chunk can have. */
export const chunkToFind = (chunkNumber: number): number => (Number.isInteger(chunkNumber) && chunkNumber >= 1 && chunkNumber <= LAST_INTEGER ? chunkNumber : 0);

export function toDownload(row: DownloadRow, chunkNumber: number): DownloadRecord {
  const chunk = row.upload_id === null ? undefined : {
    messageId: row.message_id, chunkNumber, uploadId: row.upload_id, size: Number(row.size), partCount: row.part_count ?? 0, sha1: row.sha1 ?? '', receivedAt: row.received_at ?? new Date(0),
  };
  return { message: toMessage(row), chunk, onlyPart: row.data ?? undefined };
}

/**
 * Records a received chunk, unless that chunk of the message is already recorded, and counts the
 * chunks and bytes received so far with it: one statement.
 */
export async function addChunk(db: Queryable, chunk: ChunkRecord): Promise<{ added: boolean; chunks: number; bytes: number }> {
  // The statement's snapshot does not see the row it inserts: the count adds it.
  const [row] = await db<{ added: number; chunks: number; bytes: bigint | number }[]>`
    with added as (
      insert into mesh_message_chunk (message_id, chunk_number, upload_id, size, part_count, sha1, received_at)
      values (${chunk.messageId}, ${chunk.chunkNumber}, ${chunk.uploadId}, ${chunk.size}, ${chunk.partCount}, ${chunk.sha1}, ${chunk.receivedAt})
      on conflict do nothing returning size
    ), earlier as (
      select count(*)::int as chunks, coalesce(sum(size), 0)::bigint as bytes from mesh_message_chunk where message_id = ${chunk.messageId}
    )
    select (select count(*) from added)::int as added, earlier.chunks + (select count(*) from added)::int as chunks,
      earlier.bytes + coalesce((select sum(size) from added), 0)::bigint as bytes
    from earlier`;
  return { added: row?.added === 1, chunks: row?.chunks ?? 0, bytes: Number(row?.bytes ?? 0) };
}

/** Delivers an uploaded message to its recipient's inbox. */
export async function markAccepted(db: Queryable, messageId: string, at: Date, inboxExpiresAt: Date, fileSize: number): Promise<void> {
  await db`
    update mesh_message set status = 'accepted', status_at = ${at}, accepted_at = ${at}, inbox_expires_at = ${inboxExpiresAt}, file_size = ${fileSize}
    where message_id = ${messageId} and status = 'uploading'`;
}

/** How a listing filters by workflow id (the spec's `workflow_filter`). */
export type WorkflowFilter = { match: 'equals' | 'begins' | 'contains'; value: string; negate: boolean };

export async function countInbox(db: Queryable, recipientId: string, nonce?: UsedNonce): Promise<number> {
  const [row] = await db<{ count: number }[]>`
    ${withNonce(db, nonce)}
    select count(*)::int as count from mesh_message where recipient_id = ${recipientId} and status = 'accepted'`;
  return row?.count ?? 0;
}

/** A sender's messages with a local id: at most two, enough to tell one from many. */
export async function messagesByLocalId(db: Queryable, senderId: string, localId: string, nonce?: UsedNonce): Promise<MeshMessage[]> {
  const rows = await db<MessageRow[]>`
    ${withNonce(db, nonce)}
    select * from mesh_message where sender_id = ${senderId} and local_id = ${localId} limit 2`;
  return rows.map(toMessage);
}
