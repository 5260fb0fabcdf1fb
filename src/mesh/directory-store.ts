// The SQL of MESH's directory: mailboxes, the workflows they send and receive, and the nonces of
// the NHSMESH tokens already used.
import type { Queryable } from '../platform/db/connect.ts';

export type Mailbox = {
  mailboxId: string;
  mailboxName: string;
  odsCode: string;
  orgCode: string | null;
  orgName: string | null;
  billingEntity: string | null;
  password: string;
  active: boolean;
};

export type MailboxSummary = Pick<Mailbox, 'mailboxId' | 'mailboxName'>;
export type Workflow = { workflowId: string; senders: string[]; receivers: string[] };
export type WorkflowRoles = { exists: boolean; senderMaySend: boolean; recipientMayReceive: boolean };

type MailboxRow = {
  mailbox_id: string;
  mailbox_name: string;
  ods_code: string;
  org_code: string | null;
  org_name: string | null;
  billing_entity: string | null;
  password: string;
  active: boolean;
};

const toMailbox = (row: MailboxRow): Mailbox => ({
  mailboxId: row.mailbox_id,
  mailboxName: row.mailbox_name,
  odsCode: row.ods_code,
  orgCode: row.org_code,
  orgName: row.org_name,
  billingEntity: row.billing_entity,
  password: row.password,
  active: row.active,
});

export async function readMailbox(db: Queryable, mailboxId: string): Promise<Mailbox | undefined> {
  const [row] = await db<MailboxRow[]>`
    select mailbox_id, mailbox_name, ods_code, org_code, org_name, billing_entity, password, active
    from mesh_mailbox where mailbox_id = ${mailboxId}`;
  return row && toMailbox(row);
}

/** Adds the mailbox, or replaces what is known of it; true when it was added. */
export async function upsertMailbox(db: Queryable, mailbox: Mailbox): Promise<boolean> {
  const [row] = await db<{ added: boolean }[]>`
    insert into mesh_mailbox (mailbox_id, mailbox_name, ods_code, org_code, org_name, billing_entity, password, active)
    values (${mailbox.mailboxId}, ${mailbox.mailboxName}, ${mailbox.odsCode}, ${mailbox.orgCode}, ${mailbox.orgName}, ${mailbox.billingEntity}, ${mailbox.password}, ${mailbox.active})
    on conflict (mailbox_id) do update set mailbox_name = excluded.mailbox_name, ods_code = excluded.ods_code, org_code = excluded.org_code,
      org_name = excluded.org_name, billing_entity = excluded.billing_entity, password = excluded.password, active = excluded.active
    returning (xmax = 0) as added`;
  return row?.added ?? false;
}

/** Adds the mailbox unless one has its id already; true when it was added. */
export async function addMailboxIfAbsent(db: Queryable, mailbox: Mailbox): Promise<boolean> {
  const rows = await db`
    insert into mesh_mailbox (mailbox_id, mailbox_name, ods_code, org_code, org_name, billing_entity, password, active)
    values (${mailbox.mailboxId}, ${mailbox.mailboxName}, ${mailbox.odsCode}, ${mailbox.orgCode}, ${mailbox.orgName}, ${mailbox.billingEntity}, ${mailbox.password}, ${mailbox.active})
    on conflict (mailbox_id) do nothing returning mailbox_id`;
  return rows.length === 1;
}

/** Sets who may send and receive a workflow, replacing what was set before. */
export async function replaceWorkflow(db: Queryable, workflow: Workflow): Promise<void> {
  await db`delete from mesh_workflow_member where workflow_id = ${workflow.workflowId}`;
  await addWorkflowMembers(db, workflow);
}

/** Adds a workflow's members that are not there yet. */
export async function addWorkflowMembers(db: Queryable, workflow: Workflow): Promise<void> {
  const members = [
    ...workflow.senders.map((mailboxId) => ({ workflow_id: workflow.workflowId, role: 'sender', mailbox_id: mailboxId })),
    ...workflow.receivers.map((mailboxId) => ({ workflow_id: workflow.workflowId, role: 'receiver', mailbox_id: mailboxId })),
  ];
  if (members.length === 0) return;
  await db`insert into mesh_workflow_member ${db(members, 'workflow_id', 'role', 'mailbox_id')} on conflict do nothing`;
}

/** The roles the sender and the recipient hold on a workflow, in one round trip. */
export async function workflowRoles(db: Queryable, workflowId: string, senderId: string, recipientId: string): Promise<WorkflowRoles> {
  const [row] = await db<{ exists: boolean; sender: boolean; receiver: boolean }[]>`
    select
      exists (select 1 from mesh_workflow_member where workflow_id = ${workflowId}) as exists,
      exists (select 1 from mesh_workflow_member where workflow_id = ${workflowId} and role = 'sender' and mailbox_id = ${senderId}) as sender,
      exists (select 1 from mesh_workflow_member where workflow_id = ${workflowId} and role = 'receiver' and mailbox_id = ${recipientId}) as receiver`;
  return { exists: row?.exists ?? false, senderMaySend: row?.sender ?? false, recipientMayReceive: row?.receiver ?? false };
}

/** The active mailboxes that receive a workflow, of one ODS code or of any. */
export async function receivingMailboxes(db: Queryable, workflowId: string, odsCode?: string): Promise<MailboxSummary[]> {
  const rows = await db<{ mailbox_id: string; mailbox_name: string }[]>`
    select m.mailbox_id, m.mailbox_name
    from mesh_workflow_member w join mesh_mailbox m on m.mailbox_id = w.mailbox_id
    where w.workflow_id = ${workflowId} and w.role = 'receiver' and m.active
      ${odsCode === undefined ? db`` : db`and m.ods_code = ${odsCode}`}
    order by m.mailbox_id`;
  return rows.map((row) => ({ mailboxId: row.mailbox_id, mailboxName: row.mailbox_name }));
}

/** Notes a mailbox's handshake: when, and the client's account of itself; `nonce`, a token's nonce recorded by the same statement. */
export async function recordHandshake(db: Queryable, mailboxId: string, at: Date, client: { clientVersion: string; osName: string; osVersion: string }, nonce?: UsedNonce): Promise<void> {
  await db`
    ${withNonce(db, nonce)}
    update mesh_mailbox set handshake_at = ${at}, client_version = ${client.clientVersion}, os_name = ${client.osName}, os_version = ${client.osVersion}
    where mailbox_id = ${mailboxId}`;
}

/** A token's nonce and count, used once, and when they can be forgotten (no token with them is accepted after). */
export type UsedNonce = { mailboxId: string; nonce: string; nonceCount: string; expiresAt: Date };

/** Records a token's nonce and count as used; false when they were used before. */
export async function useNonce(db: Queryable, used: UsedNonce): Promise<boolean> {
  const rows = await db`
    insert into mesh_auth_nonce (mailbox_id, nonce, nonce_count, expires_at)
    values (${used.mailboxId}, ${used.nonce}, ${used.nonceCount}, ${used.expiresAt})
    on conflict do nothing returning 1`;
  return rows.length === 1;
}

/**
 * A WITH item that records a token's nonce as used, for a call's own statement to begin with
 * (withNonce). Unlike useNonce it has no ON CONFLICT: a nonce used before fails the whole
 * statement, which so does nothing at all; isReplayedNonce tells that failure. PostgreSQL runs a
 * data-modifying WITH item to completion whether or not the rest reads it.
 */
function nonceItem(db: Queryable, used: UsedNonce) {
  return db`used_nonce as (
    insert into mesh_auth_nonce (mailbox_id, nonce, nonce_count, expires_at)
    values (${used.mailboxId}, ${used.nonce}, ${used.nonceCount}, ${used.expiresAt}))`;
}

/** A statement's beginning that records a token's nonce (nonceItem), when one is given. */
export function withNonce(db: Queryable, nonce: UsedNonce | undefined) {
  return nonce === undefined ? db`` : db`with ${nonceItem(db, nonce)}`;
}

/** The failure of a call of a batch whose nonce was used before: the batch went on without it (nonce-batch.ts). */
export class NonceUsedBefore extends Error {
  constructor() {
    super('The nonce and count of this token were used before');
  }
}

/** Whether a statement failed because the nonce its nonceItem records was used before, or a batch refused its call for that. */
export function isReplayedNonce(error: unknown): boolean {
  if (error instanceof NonceUsedBefore) return true;
  const failure = error as { code?: unknown; constraint_name?: unknown } | null;
  return typeof failure === 'object' && failure?.code === '23505' && failure.constraint_name === 'mesh_auth_nonce_pkey';
}

/** Forgets nonces whose tokens could no longer be accepted anyway; returns how many. */
export async function deleteExpiredNonces(db: Queryable, now: Date): Promise<number> {
  const result = await db`delete from mesh_auth_nonce where expires_at < ${now}`;
  return result.count;
}

/** Every mailbox, in id order. */
export async function listMailboxes(db: Queryable): Promise<Mailbox[]> {
  const rows = await db<MailboxRow[]>`
    select mailbox_id, mailbox_name, ods_code, org_code, org_name, billing_entity, password, active
    from mesh_mailbox order by mailbox_id`;
  return rows.map(toMailbox);
}

/** Changes a mailbox's details but keeps its password; false when there is no such mailbox. */
export async function updateMailboxKeepingPassword(db: Queryable, mailbox: Omit<Mailbox, 'password'>): Promise<boolean> {
  const result = await db`
    update mesh_mailbox set mailbox_name = ${mailbox.mailboxName}, ods_code = ${mailbox.odsCode}, org_code = ${mailbox.orgCode},
      org_name = ${mailbox.orgName}, billing_entity = ${mailbox.billingEntity}, active = ${mailbox.active}
    where mailbox_id = ${mailbox.mailboxId}`;
  return result.count === 1;
}

/** Switches a mailbox off (or on); the mailbox as it is now, or undefined when there is none. */
export async function setMailboxActive(db: Queryable, mailboxId: string, active: boolean): Promise<Mailbox | undefined> {
  const [row] = await db<MailboxRow[]>`
    update mesh_mailbox set active = ${active} where mailbox_id = ${mailboxId}
    returning mailbox_id, mailbox_name, ods_code, org_code, org_name, billing_entity, password, active`;
  return row && toMailbox(row);
}

/** Workflows with their senders and receivers, in id order; one workflow when `workflowId` is given. */
export async function listWorkflows(db: Queryable, workflowId?: string): Promise<Workflow[]> {
  const rows = await db<{ workflow_id: string; senders: string[]; receivers: string[] }[]>`
    select workflow_id,
      coalesce(array_agg(mailbox_id order by mailbox_id) filter (where role = 'sender'), '{}') as senders,
      coalesce(array_agg(mailbox_id order by mailbox_id) filter (where role = 'receiver'), '{}') as receivers
    from mesh_workflow_member
    ${workflowId === undefined ? db`` : db`where workflow_id = ${workflowId}`}
    group by workflow_id order by workflow_id`;
  return rows.map((row) => ({ workflowId: row.workflow_id, senders: row.senders, receivers: row.receivers }));
}
