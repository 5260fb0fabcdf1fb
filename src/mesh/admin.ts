// Administering MESH's directory (OpenSpine's addition, for the admin API and the CLI alike):
// mailboxes added, changed and deactivated, and workflows set, in the JSON shape of the NHS MESH
// sandbox's JSON-lines files (../shared/specs/mesh/src/mesh_sandbox/store/data/), snake_case.
import type { Database } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import {
  listMailboxes as readMailboxes, listWorkflows as readWorkflows, readMailbox, replaceWorkflow, setMailboxActive, updateMailboxKeepingPassword, upsertMailbox,
  type Mailbox, type Workflow,
} from './directory-store.ts';

/** A mailbox as given to the admin API or the CLI: the password may be left out to keep the one it has. */
export type MailboxInput = Omit<Mailbox, 'password'> & { password?: string | undefined };

/** Adds the mailbox or replaces its details; true when it is new. A new mailbox needs a password. */
export async function saveMailbox(db: Database, input: MailboxInput): Promise<{ mailbox: MailboxView; created: boolean }> {
  const mailbox = { ...input, mailboxId: input.mailboxId.toUpperCase() };
  const { password, ...details } = mailbox;
  if (password === undefined) {
    if (!(await updateMailboxKeepingPassword(db, details))) throw Errors.missingValue(`Mailbox ${mailbox.mailboxId} is new: give it a password`, 'password');
    return { mailbox: mailboxView(details), created: false };
  }
  const created = await upsertMailbox(db, { ...details, password });
  return { mailbox: mailboxView(details), created };
}

/** Switches a mailbox off: it can no longer sign in or be sent to; its messages stay. */
export async function deactivateMailbox(db: Database, mailboxId: string): Promise<MailboxView> {
  const mailbox = await setMailboxActive(db, mailboxId.toUpperCase(), false);
  if (mailbox === undefined) throw Errors.notFound(`No MESH mailbox ${mailboxId.toUpperCase()}`);
  return mailboxView(mailbox);
}

export async function findMailbox(db: Database, mailboxId: string): Promise<MailboxView> {
  const mailbox = await readMailbox(db, mailboxId.toUpperCase());
  if (mailbox === undefined) throw Errors.notFound(`No MESH mailbox ${mailboxId.toUpperCase()}`);
  return mailboxView(mailbox);
}

export async function listMailboxes(db: Database): Promise<MailboxView[]> {
  return (await readMailboxes(db)).map(mailboxView);
}

/** Sets who may send and receive a workflow, replacing who could before; no one at all removes it. */
export async function saveWorkflow(db: Database, workflow: Workflow): Promise<WorkflowView> {
  const ids = (list: string[]) => [...new Set(list.map((id) => id.trim().toUpperCase()).filter(Boolean))].sort();
  const saved = { workflowId: workflow.workflowId, senders: ids(workflow.senders), receivers: ids(workflow.receivers) };
  await db.begin((tx) => replaceWorkflow(tx, saved));
  return workflowView(saved);
}

export async function listWorkflows(db: Database, workflowId?: string): Promise<WorkflowView[]> {
  return (await readWorkflows(db, workflowId)).map(workflowView);
}

/** A mailbox as the admin API shows it: everything but its password. */
export type MailboxView = {
  mailbox_id: string; mailbox_name: string; ods_code: string; org_code: string | null; org_name: string | null; billing_entity: string | null; active: boolean;
};

export function mailboxView(mailbox: Omit<Mailbox, 'password'>): MailboxView {
  return {
    mailbox_id: mailbox.mailboxId, mailbox_name: mailbox.mailboxName, ods_code: mailbox.odsCode, org_code: mailbox.orgCode,
    org_name: mailbox.orgName, billing_entity: mailbox.billingEntity, active: mailbox.active,
  };
}

export type WorkflowView = { workflow_id: string; senders: string[]; receivers: string[] };

const workflowView = (workflow: Workflow): WorkflowView => ({ workflow_id: workflow.workflowId, senders: workflow.senders, receivers: workflow.receivers });
