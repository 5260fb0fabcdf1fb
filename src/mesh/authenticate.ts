// Who is calling MESH: the mailbox whose NHSMESH token is valid for the mailbox in the path, whose
// nonce and count were never used before (checked in the database, so across processes), and
// whose client certificate, over mutual TLS, names it.
import { currentContext } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { clientCertificate } from '../platform/http/tls.ts';
import { TOKEN_WINDOW_MS, certificateNamesMailbox, parseMeshToken, tokenTime, verifyMeshToken, type MeshToken } from './auth.ts';
import type { MeshDirectory } from './directory-cache.ts';
import { deleteExpiredNonces, isReplayedNonce, useNonce, type Mailbox, type UsedNonce } from './directory-store.ts';
import { MeshErrors } from './errors.ts';

/** How many sign-ins pass between two clear-outs of the nonces that can no longer be replayed. */
const NONCE_CLEANUP_EVERY = 1000;
/** A token's timestamp is to the minute: keep its nonce a minute past the window to be sure. */
const NONCE_MARGIN_MS = 60 * 1000;

export type MailboxAuthenticator = (authorization: string | undefined, pathMailboxId: string) => Promise<Mailbox>;
/** The sign-in of a call whose own first statement records its nonce (PendingNonce.within). */
export type MailboxSignIn = (authorization: string | undefined, pathMailboxId: string) => Promise<{ mailbox: Mailbox; nonce: PendingNonce }>;

/** Signs in and records the nonce at once, before the call does anything. */
export function createMailboxAuthenticator(db: Database, directory: MeshDirectory, options: { sharedKey: string; now: () => Date }): MailboxAuthenticator {
  const signIn = createMailboxSignIn(db, directory, options);
  return async (authorization, pathMailboxId) => {
    const { mailbox, nonce } = await signIn(authorization, pathMailboxId);
    await nonce.spend();
    return mailbox;
  };
}

/**
 * Checks the token against the mailbox (`directory`: as this process remembers them,
 * directory-cache.ts) and leaves its nonce to be recorded by the call, in the call's own first
 * statement or by itself: PendingNonce.
 */
export function createMailboxSignIn(db: Database, directory: MeshDirectory, options: { sharedKey: string; now: () => Date }): MailboxSignIn {
  let signIns = 0;
  return async (authorization, pathMailboxId) => {
    const token = parseMeshToken(authorization);
    if (token === undefined) throw MeshErrors.unreadableToken();
    // A token for one mailbox never opens another.
    if (token.mailboxId !== pathMailboxId) throw MeshErrors.mailboxTokenMismatch();
    const now = options.now();
    const mailbox = await verifiedMailbox(directory, token, { sharedKey: options.sharedKey, now });
    checkClientCertificate(mailbox);
    if (!mailbox.active) throw MeshErrors.inactiveMailbox();
    const expiresAt = new Date((tokenTime(token.timestamp)?.getTime() ?? now.getTime()) + TOKEN_WINDOW_MS + NONCE_MARGIN_MS);
    if (++signIns % NONCE_CLEANUP_EVERY === 0) await deleteExpiredNonces(db, now);
    // To be recorded only now that the HMAC holds, so that nobody can spend another mailbox's nonces.
    return { mailbox, nonce: new PendingNonce(db, { mailboxId: token.mailboxId, nonce: token.nonce, nonceCount: token.nonceCount, expiresAt }) };
  };
}

/**
 * A signed-in call's nonce, not yet recorded as used. The call records it before it acts, either
 * by itself (spend: a round trip of its own) or as part of the call's first statement (within:
 * the statement inserts it first, in the same transaction, and fails having done nothing when the
 * nonce was used before). Either way it is committed, durably, before any answer but a refusal,
 * and a replayed token is refused whatever else was wrong with its call (routes.ts spends the nonce
 * of a call refused before its statement).
 */
export class PendingNonce {
  private recorded = false;
  private readonly db: Database;
  readonly record: UsedNonce;

  constructor(db: Database, record: UsedNonce) {
    this.db = db;
    this.record = record;
  }

  get spent(): boolean {
    return this.recorded;
  }

  /** Records the nonce by itself, unless it is recorded already; a replayed token is refused. */
  async spend(): Promise<void> {
    if (this.recorded) return;
    this.recorded = true;
    if (!(await useNonce(this.db, this.record))) throw MeshErrors.replayedToken();
  }

  /** Runs the call's first statement, which records the nonce given (nonceItem), or none when recorded already. */
  async within<T>(statement: (nonce: UsedNonce | undefined) => Promise<T>): Promise<T> {
    if (this.recorded) return statement(undefined);
    try {
      const result = await statement(this.record);
      this.recorded = true;
      return result;
    } catch (error) {
      if (!isReplayedNonce(error)) throw error; // not recorded: the statement did nothing, and spend() may still record it
      this.recorded = true;
      throw MeshErrors.replayedToken();
    }
  }
}

/**
 * A request over the mutual TLS listener signs in only as the mailbox its client certificate names
 * (auth.ts, certificateNamesMailbox): a certificate is issued for one mailbox, and opens no other
 * even with that one's password. Requests on the plain port have no certificate to check. The spec
 * has no error of its own for this: refused as an invalid token is (so audited as that refusal, by
 * routes.ts), and logged with the reason.
 */
function checkClientCertificate(mailbox: Mailbox): void {
  const certificate = clientCertificate();
  if (certificate === undefined || certificateNamesMailbox(certificate.commonName, mailbox)) return;
  currentContext()?.log.warn({ mailboxId: mailbox.mailboxId, odsCode: mailbox.odsCode, certificateCommonName: certificate.commonName ?? null }, 'MESH sign-in refused: the client certificate does not name the mailbox');
  throw MeshErrors.invalidToken();
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
