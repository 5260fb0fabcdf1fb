// The SQL of the NHS MESH sandbox's test-only endpoints (sandbox mode only, sandbox-routes.ts):
// resets, a message's status set by hand, and the rich inbox and outbox listings. Sandbox data is
// small; the rich listings read a mailbox's messages of every state, which no index of the real
// service's is for (the inbox index holds accepted messages only), and that is fine at its size.
import type { Queryable } from '../platform/db/connect.ts';
import { toMessage, type MeshMessage, type MessageRow, type MessageStatus } from './store.ts';

/** Deletes every message (their chunks and parts go with them). */
export async function deleteAllMessages(db: Queryable): Promise<number> {
  return (await db`delete from mesh_message`).count;
}

/** Deletes the messages addressed to a mailbox: its inbox, whatever their state. */
export async function deleteInboxMessages(db: Queryable, mailboxId: string): Promise<number> {
  return (await db`delete from mesh_message where recipient_id = ${mailboxId}`).count;
}

export type StatusChange = { status: MessageStatus; event: string | null; code: string | null; description: string | null; linkedMessageId: string | null };

/**
 * Puts a message in a state by hand. Accepted again, it is back in its inbox for another five days;
 * the status event, code and description change only where given.
 */
export async function setMessageStatus(db: Queryable, messageId: string, change: StatusChange, at: Date, inboxExpiresAt: Date): Promise<boolean> {
  const accepted = change.status === 'accepted';
  const result = await db`
    update mesh_message set
      status = ${change.status}, status_at = ${at},
      accepted_at = ${accepted ? db`coalesce(accepted_at, ${at})` : db`accepted_at`},
      inbox_expires_at = ${accepted ? db`${inboxExpiresAt}` : db`inbox_expires_at`},
      acknowledged_at = ${change.status === 'acknowledged' ? db`${at}` : db`acknowledged_at`},
      status_event = coalesce(${change.event}, status_event),
      status_code = coalesce(${change.code}, status_code),
      status_description = coalesce(${change.description}, status_description),
      linked_message_id = coalesce(${change.linkedMessageId}, linked_message_id)
    where message_id = ${messageId}`;
  return result.count === 1;
}

export type RichMessage = MeshMessage & { recipientName: string | null; senderName: string | null };
export type RichQuery = { mailboxId: string; since: Date; before: string | undefined; limit: number };

/** A mailbox's inbox (`box` 'inbox', every state but uploading) or outbox, newest first, with both mailboxes' names. */
export async function richListing(db: Queryable, box: 'inbox' | 'outbox', query: RichQuery): Promise<RichMessage[]> {
  const rows = await db<(MessageRow & { recipient_name: string | null; sender_name: string | null })[]>`
    select m.*, r.mailbox_name as recipient_name, s.mailbox_name as sender_name
    from mesh_message m
      left join mesh_mailbox r on r.mailbox_id = m.recipient_id
      left join mesh_mailbox s on s.mailbox_id = m.sender_id
    where ${box === 'inbox' ? db`m.recipient_id = ${query.mailboxId} and m.status <> 'uploading'` : db`m.sender_id = ${query.mailboxId}`}
      and m.created_at > ${query.since}
      ${query.before === undefined ? db`` : db`and m.message_id < ${query.before}`}
    order by m.message_id desc
    limit ${query.limit}`;
  return rows.map((row) => ({ ...toMessage(row), recipientName: row.recipient_name, senderName: row.sender_name }));
}
