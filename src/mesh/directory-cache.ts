// MESH's directory as this process remembers it for a few seconds: every call signs a mailbox in
// and every send checks its recipient and workflow, which read from PostgreSQL each time cost six
// round trips a message. Only answers that let a call through are kept (a mailbox found active, a
// workflow found to let this sender send to this recipient), so anything that grants access (a new
// mailbox, a reactivation, a new workflow member, a new password: authenticate.ts) works at once.
// What takes access away (a mailbox deactivated or changed, a sender or receiver removed from a
// workflow) is forgotten:
// - made through this process's admin API (admin-routes.ts): before that call answers;
// - made by anyone else on the same database (another OpenSpine process, the `openspine mesh`
//   commands, plain SQL): when PostgreSQL's notification of it arrives (migration 0018), normally
//   milliseconds after it commits, while `listen` is on;
// - at the latest DIRECTORY_CACHE_MS (5 s) after it was read, whatever happens to notifications
//   (a listening connection lost and not yet back, a process that does not listen).
import type { Database } from '../platform/db/connect.ts';
import { readMailbox, workflowRoles, type Mailbox, type WorkflowRoles } from './directory-store.ts';

/** How long a mailbox or a workflow permission is remembered. */
export const DIRECTORY_CACHE_MS = 5_000;
/** Entries kept at most (the oldest goes first): a bound, not a tuning. */
const ENTRY_LIMIT = 10_000;

export type MeshDirectory = {
  /** The mailbox as the database has it, or as it was found active at most DIRECTORY_CACHE_MS ago unless `fresh`. */
  mailbox(mailboxId: string, options?: { fresh?: boolean }): Promise<Mailbox | undefined>;
  /** The roles the sender and the recipient hold on a workflow (workflowRoles), remembered when both may use it. */
  workflowRoles(workflowId: string, senderId: string, recipientId: string): Promise<WorkflowRoles>;
  /** Forgets everything, at once: after any change to mailboxes or workflows made through this process. */
  forget(): void;
  /** Forgets everything whenever the database says the directory changed (and when listening starts again); resolves once listening, to its stop. */
  listen(): Promise<() => Promise<void>>;
};

/** The channel of migration 0018's notifications. */
const CHANGES_CHANNEL = 'mesh_directory';

export function createMeshDirectory(db: Database): MeshDirectory {
  const mailboxes = new Remembered<Mailbox>();
  const permissions = new Remembered<WorkflowRoles>();
  const forget = () => {
    mailboxes.clear();
    permissions.clear();
  };
  return {
    async mailbox(mailboxId, options = {}) {
      const known = options.fresh === true ? undefined : mailboxes.get(mailboxId);
      if (known !== undefined) return known;
      const generation = mailboxes.generation;
      const mailbox = await readMailbox(db, mailboxId);
      if (mailbox?.active === true) mailboxes.set(mailboxId, mailbox, generation);
      return mailbox;
    },
    async workflowRoles(workflowId, senderId, recipientId) {
      const key = JSON.stringify([workflowId, senderId, recipientId]);
      const known = permissions.get(key);
      if (known !== undefined) return known;
      const generation = permissions.generation;
      const roles = await workflowRoles(db, workflowId, senderId, recipientId);
      if (roles.exists && roles.senderMaySend && roles.recipientMayReceive) permissions.set(key, roles, generation);
      return roles;
    },
    forget,
    async listen() {
      // Also on every (re)connection of the listening connection: what changed while it was down went unheard.
      const listening = await db.listen(CHANGES_CHANNEL, forget, forget);
      return () => listening.unlisten();
    },
  };
}

/**
 * Values kept for DIRECTORY_CACHE_MS. Each clear starts a new generation, and a value read from the
 * database before a clear is not kept after it: a sign-in whose read raced an admin change cannot
 * put back what the change took away.
 */
class Remembered<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  generation = 0;

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, readInGeneration: number): void {
    if (readInGeneration !== this.generation) return;
    if (this.entries.size >= ENTRY_LIMIT) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, until: Date.now() + DIRECTORY_CACHE_MS });
  }

  clear(): void {
    this.entries.clear();
    this.generation++;
  }
}
