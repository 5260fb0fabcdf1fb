// Tracking: what became of a message this mailbox sent, by message id or (deprecated) by local id
// (../shared/specs/mesh/specification/mesh-api.yaml, "Track outbox"). Someone else's message is
// a 404, not a 403, as Spine answers (the NHS MESH sandbox says so in its tracking handler).
import type { Database } from '../platform/db/connect.ts';
import { readMailbox, type Mailbox } from './directory-store.ts';
import { MeshErrors } from './errors.ts';
import { messagesByLocalId, readMessage, type MeshMessage } from './store.ts';

export type Tracked = { message: MeshMessage; sender: Mailbox; recipient: Mailbox | undefined };

export async function trackByMessageId(db: Database, mailbox: Mailbox, messageId: string): Promise<Tracked> {
  const message = await readMessage(db, messageId);
  if (message?.senderId !== mailbox.mailboxId) throw MeshErrors.messageNotFound();
  return { message, sender: mailbox, recipient: await readMailbox(db, message.recipientId) };
}

export async function trackByLocalId(db: Database, mailbox: Mailbox, localId: string): Promise<Tracked> {
  const messages = await messagesByLocalId(db, mailbox.mailboxId, localId);
  const [message] = messages;
  if (message === undefined) throw MeshErrors.messageNotFound();
  if (messages.length > 1) throw MeshErrors.manyLocalIds();
  return { message, sender: mailbox, recipient: await readMailbox(db, message.recipientId) };
}
