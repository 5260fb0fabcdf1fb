// Mailboxes and workflows from the NHS MESH sandbox's JSON-lines files, and the demo directory
// written out from them (read here, in a test, from ../shared: the running code never needs it).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { DEMO_MAILBOXES, DEMO_WORKFLOWS } from './demo-directory.ts';
import { DirectoryFileError, loadMeshDirectory, toMailbox, toWorkflow } from './directory-file.ts';
import { readMailbox, receivingMailboxes } from './directory-store.ts';

const { db } = await createTestDatabase();
const SANDBOX_DATA = fileURLToPath(new URL('../../../shared/specs/mesh/src/mesh_sandbox/store/data/', import.meta.url));
const lines = async (file: string) => (await readFile(path.join(SANDBOX_DATA, file), 'utf8')).split('\n').filter((line) => line.trim() !== '');

test('the demo mailboxes and workflows are the sandbox\'s, record for record', async () => {
  const mailboxes = (await lines('mailboxes.jsonl')).map((line) => toMailbox(JSON.parse(line) as Record<string, unknown>));
  const workflows = (await lines('workflows.jsonl')).map((line) => toWorkflow(JSON.parse(line) as Record<string, unknown>));
  assert.deepEqual(DEMO_MAILBOXES, mailboxes);
  assert.deepEqual(DEMO_WORKFLOWS, workflows);
});

test('loadMeshDirectory adds or replaces mailboxes and replaces each workflow\'s members', async () => {
  const folder = await mkdtemp(path.join(tmpdir(), 'mesh-directory-'));
  const mailboxesFile = path.join(folder, 'mailboxes.jsonl');
  const workflowsFile = path.join(folder, 'workflows.jsonl');
  await writeFile(mailboxesFile, [
    '{"mailbox_id": "LOADED1", "mailbox_name": "First", "ods_code": "L01", "org_code": "L01", "password": "one"}',
    '',
    '{"mailbox_id": "loaded2", "mailbox_name": "Second", "ods_code": "L01", "billing_entity": "Wales", "password": "two", "active": false}',
  ].join('\n'));
  await writeFile(workflowsFile, '{"workflow_id": "LOADED_WF", "senders": ["LOADED1"], "receivers": ["LOADED1", "LOADED2"]}\n');
  assert.deepEqual(await loadMeshDirectory(db, { mailboxesFile, workflowsFile }), { mailboxes: 2, workflows: 1 });
  assert.equal((await readMailbox(db, 'LOADED2'))?.active, false);
  assert.deepEqual(await receivingMailboxes(db, 'LOADED_WF', 'L01'), [{ mailboxId: 'LOADED1', mailboxName: 'First' }], 'the inactive one is not offered');

  await writeFile(workflowsFile, '{"workflow_id": "LOADED_WF", "senders": [], "receivers": ["LOADED2"]}\n');
  await db`update mesh_mailbox set active = true where mailbox_id = 'LOADED2'`;
  await loadMeshDirectory(db, { workflowsFile });
  assert.deepEqual(await receivingMailboxes(db, 'LOADED_WF'), [{ mailboxId: 'LOADED2', mailboxName: 'Second' }]);
});

test('a bad line names its file and line, and nothing of the load lands', async () => {
  const folder = await mkdtemp(path.join(tmpdir(), 'mesh-directory-'));
  const mailboxesFile = path.join(folder, 'mailboxes.jsonl');
  await writeFile(mailboxesFile, '{"mailbox_id": "BAD1", "mailbox_name": "Fine", "ods_code": "B01", "password": "p"}\n{"mailbox_id": "BAD2", "ods_code": "B01", "password": "p"}\n');
  await assert.rejects(loadMeshDirectory(db, { mailboxesFile }), (error: unknown) => error instanceof DirectoryFileError && error.message.includes('line 2') && error.message.includes('mailbox_name'));
  assert.equal(await readMailbox(db, 'BAD1'), undefined);
  await writeFile(mailboxesFile, 'not json\n');
  await assert.rejects(loadMeshDirectory(db, { mailboxesFile }), /line 1/);
});
