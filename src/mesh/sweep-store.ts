// The SQL of MESH's sweep: messages whose inbox time is up, messages past retention, and uploads
// abandoned part way. Each look-up takes a bounded batch through an index, locking its rows with
// SKIP LOCKED, so that sweeps in several processes at once share the work and never take a row twice.
import type { Queryable } from '../platform/db/connect.ts';
import type { ReportStatus } from './report.ts';
import { toMessage, type MeshMessage, type MessageRow } from './store.ts';

/** Locks up to `limit` accepted messages whose inbox lifetime ended by `now`, oldest first (mesh_message_inbox_expiry). */
export async function lockExpiredInboxMessages(tx: Queryable, now: Date, limit: number): Promise<MeshMessage[]> {
  const rows = await tx<MessageRow[]>`
    select * from mesh_message
    where status = 'accepted' and inbox_expires_at <= ${now}
    order by inbox_expires_at
    limit ${limit}
    for update skip locked`;
  return rows.map(toMessage);
}

/** Takes locked messages out of their inboxes as undeliverable, with the status their senders are told. */
export async function markUndeliverable(tx: Queryable, messageIds: string[], at: Date, status: ReportStatus): Promise<void> {
  await tx`
    update mesh_message
    set status = 'undeliverable', status_at = ${at}, status_event = ${status.event}, status_code = ${status.code}, status_description = ${status.description}
    where message_id = any(${messageIds}) and status = 'accepted'`;
}

/** Locks up to `limit` messages, in any state, kept until `now` at the latest (mesh_message_deletion). */
export async function lockMessagesPastRetention(tx: Queryable, now: Date, limit: number): Promise<string[]> {
  const rows = await tx<{ message_id: string }[]>`
    select message_id from mesh_message
    where delete_after <= ${now}
    order by delete_after
    limit ${limit}
    for update skip locked`;
  return rows.map((row) => row.message_id);
}

/**
 * Locks up to `limit` messages still uploading that began before `cutoff` and have received no chunk
 * since (mesh_message_uploading): their senders gave up on them.
 */
export async function lockAbandonedUploads(tx: Queryable, cutoff: Date, limit: number): Promise<string[]> {
  const rows = await tx<{ message_id: string }[]>`
    select message_id from mesh_message m
    where status = 'uploading' and created_at <= ${cutoff}
      -- Per message through the chunks' primary key, never a scan of all recent chunks.
      and coalesce((select max(c.received_at) from mesh_message_chunk c where c.message_id = m.message_id), m.created_at) <= ${cutoff}
    order by created_at
    limit ${limit}
    for update of m skip locked`;
  return rows.map((row) => row.message_id);
}

/** Deletes at most `limit` body parts of the messages; returns how many it deleted. */
export async function deleteSomeParts(tx: Queryable, messageIds: string[], limit: number): Promise<number> {
  const result = await tx`
    delete from mesh_message_part
    where ctid = any(array(select ctid from mesh_message_part where message_id = any(${messageIds}) limit ${limit}))`;
  return result.count;
}

/** Deletes the messages with their chunk records (and any part left: none, once deleteSomeParts has run dry). */
export async function deleteMessages(tx: Queryable, messageIds: string[]): Promise<number> {
  const result = await tx`delete from mesh_message where message_id = any(${messageIds})`;
  return result.count;
}
