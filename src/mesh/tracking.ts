// Tracking: what became of a message this mailbox sent, by message id or (deprecated) by local id
// (../shared/specs/mesh/specification/mesh-api.yaml, "Track outbox"). Someone else's message is
// a 404, not a 403, as Spine answers (the NHS MESH sandbox says so in its tracking handler).
import type { Database } from '../platform/db/connect.ts';
import type { PendingNonce } from './authenticate.ts';
import type { MeshDirectory } from './directory-cache.ts';
import type { Mailbox } from './directory-store.ts';
import { MeshErrors } from './errors.ts';
import { messagesByLocalId, readMessage, type MeshMessage } from './store.ts';

export type Tracked = { message: MeshMessage; sender: Mailbox; recipient: Mailbox | undefined };

/** Where tracking looks: the messages, and the directory for the recipient's details (cached: tracking changes nothing). */
export type TrackingDeps = { db: Database; directory: MeshDirectory };

/** One statement, which also records the token's nonce (PendingNonce.within), when the recipient's mailbox is cached. */
export async function trackByMessageId(deps: TrackingDeps, mailbox: Mailbox, messageId: string, nonce: PendingNonce): Promise<Tracked> {
  const message = await nonce.within((used) => readMessage(deps.db, messageId, { nonce: used }));
  if (message?.senderId !== mailbox.mailboxId) throw MeshErrors.messageNotFound();
  return { message, sender: mailbox, recipient: await deps.directory.mailbox(message.recipientId) };
}

export async function trackByLocalId(deps: TrackingDeps, mailbox: Mailbox, localId: string, nonce: PendingNonce): Promise<Tracked> {
  const messages = await nonce.within((used) => messagesByLocalId(deps.db, mailbox.mailboxId, localId, used));
  const [message] = messages;
  if (message === undefined) throw MeshErrors.messageNotFound();
  if (messages.length > 1) throw MeshErrors.manyLocalIds();
  return { message, sender: mailbox, recipient: await deps.directory.mailbox(message.recipientId) };
}
