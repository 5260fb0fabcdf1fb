// The NHS MESH sandbox's mailboxes and workflows (../shared/specs/mesh/src/mesh_sandbox/store/data/
// mailboxes.jsonl and workflows.jsonl), written out here so that a clone runs without ../shared:
// X26ABC1 to X26ABC3, password `password`. demo-directory.test.ts checks them against the files.
import type { Database } from '../platform/db/connect.ts';
import { addMailboxIfAbsent, addWorkflowMembers, type Mailbox, type Workflow } from './directory-store.ts';

const sandboxMailbox = (mailboxId: string, mailboxName: string, code: string, billingEntity: string): Mailbox => ({
  mailboxId, mailboxName, odsCode: code, orgCode: code, orgName: null, billingEntity, password: 'password', active: true,
});

export const DEMO_MAILBOXES: Mailbox[] = [
  sandboxMailbox('X26ABC1', 'TESTMB1', 'X26', 'England'),
  sandboxMailbox('X26ABC2', 'TESTMB2', 'X26', 'Wales'),
  sandboxMailbox('X26ABC3', 'TESTMB3', 'X27', 'England'),
];

export const DEMO_WORKFLOWS: Workflow[] = [
  { workflowId: 'TEST_WORKFLOW', senders: ['X26ABC1'], receivers: ['X26ABC2'] },
  { workflowId: 'TEST_WORKFLOW_ACK', senders: ['X26ABC2'], receivers: ['X26ABC1', 'X26ABC3'] },
  { workflowId: 'TEST_WORKFLOW2', senders: ['X26ABC1'], receivers: ['X26ABC1', 'X26ABC2', 'X26ABC3'] },
];

/** Adds the demo mailboxes and workflows that are not there yet; returns how many mailboxes it added. */
export async function seedDemoDirectory(db: Database): Promise<number> {
  let added = 0;
  await db.begin(async (tx) => {
    for (const mailbox of DEMO_MAILBOXES) if (await addMailboxIfAbsent(tx, mailbox)) added++;
    for (const workflow of DEMO_WORKFLOWS) await addWorkflowMembers(tx, workflow);
  });
  return added;
}
