// Who is calling MESH: the mailbox whose NHSMESH token is valid for the mailbox in the path, and
// whose nonce and count were never used before (checked in the database, so across processes).
import type { Database } from '../platform/db/connect.ts';
import { TOKEN_WINDOW_MS, parseMeshToken, tokenTime, verifyMeshToken, type MeshToken } from './auth.ts';
import type { MeshDirectory } from './directory-cache.ts';
import { deleteExpiredNonces, useNonce, type Mailbox } from './directory-store.ts';
import { MeshErrors } from './errors.ts';

/** How many sign-ins pass between two clear-outs of the nonces that can no longer be replayed. */
const NONCE_CLEANUP_EVERY = 1000;
/** A token's timestamp is to the minute: keep its nonce a minute past the window to be sure. */
const NONCE_MARGIN_MS = 60 * 1000;

export type MailboxAuthenticator = (authorization: string | undefined, pathMailboxId: string) => Promise<Mailbox>;

/** `directory`: the mailboxes as this process remembers them (directory-cache.ts). */
export function createMailboxAuthenticator(db: Database, directory: MeshDirectory, options: { sharedKey: string; now: () => Date }): MailboxAuthenticator {
  let signIns = 0;
  return async (authorization, pathMailboxId) => {
    const token = parseMeshToken(authorization);
    if (token === undefined) throw MeshErrors.unreadableToken();
    // A token for one mailbox never opens another.
    if (token.mailboxId !== pathMailboxId) throw MeshErrors.mailboxTokenMismatch();
    const now = options.now();
    const mailbox = await verifiedMailbox(directory, token, { sharedKey: options.sharedKey, now });
    if (!mailbox.active) throw MeshErrors.inactiveMailbox();
    const expiresAt = new Date((tokenTime(token.timestamp)?.getTime() ?? now.getTime()) + TOKEN_WINDOW_MS + NONCE_MARGIN_MS);
    // Recorded only once the HMAC holds, so that nobody can spend another mailbox's nonces.
    if (!(await useNonce(db, token, expiresAt))) throw MeshErrors.replayedToken();
    if (++signIns % NONCE_CLEANUP_EVERY === 0) await deleteExpiredNonces(db, now);
    return mailbox;
  };
}

/**
 * The token's mailbox once its HMAC holds. A token refused against a remembered mailbox is checked
 * again against the database's, so that a password changed in another process works at once (the
 * old one may go on working here for the directory's few seconds).
 */
async function verifiedMailbox(directory: MeshDirectory, token: MeshToken, options: { sharedKey: string; now: Date }): Promise<Mailbox> {
  const remembered = await directory.mailbox(token.mailboxId);
  if (remembered === undefined) throw MeshErrors.noSuchMailbox();
  try {
    verifyMeshToken(token, { ...options, password: remembered.password });
    return remembered;
  } catch (error) {
    const current = await directory.mailbox(token.mailboxId, { fresh: true });
    if (current === undefined) throw MeshErrors.noSuchMailbox();
    if (current.password === remembered.password) throw error;
    verifyMeshToken(token, { ...options, password: current.password });
    return current;
  }
}
