// `openspine mesh ...` against a real database, run as a person would run it: --help on each
// command; mailboxes added, listed and deactivated; workflows set and listed; files loaded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';

const run = promisify(execFile);
const CLI = new URL('./main.ts', import.meta.url).pathname;
const t = await buildTestApp();
const openspine = (...args: string[]) => run(process.execPath, [CLI, ...args, '--database-url', t.databaseUrl], { env: { ...process.env, OPENSPINE_LOG_LEVEL: 'warn' } });
const id = () => `C${randomBytes(4).toString('hex').toUpperCase()}`;

test('every mesh command has --help', async () => {
  for (const command of [['mesh'], ['mesh', 'mailbox', 'add'], ['mesh', 'mailbox', 'list'], ['mesh', 'mailbox', 'deactivate'], ['mesh', 'workflow', 'add'], ['mesh', 'workflow', 'list'], ['mesh', 'load']]) {
    const { stdout } = await run(process.execPath, [CLI, ...command, '--help']);
    assert.match(stdout, /^Usage: openspine mesh/m, command.join(' '));
  }
});

test('a mailbox and workflow added from the command line send and receive; a deactivated mailbox cannot sign in', async () => {
  const [sender, recipient, workflowId] = [id(), id(), `WF_${id()}`];
  assert.match((await openspine('mesh', 'mailbox', 'add', '--id', sender, '--name', 'Sender', '--ods', 'x26', '--password', 'password')).stdout, new RegExp(`Mailbox ${sender} is added`));
  assert.match((await openspine('mesh', 'mailbox', 'add', '--id', recipient, '--name', 'Recipient', '--ods', 'X26', '--password', 'password')).stdout, /is added/);
  assert.match((await openspine('mesh', 'mailbox', 'add', '--id', recipient, '--name', 'Recipient renamed', '--ods', 'X26')).stdout, /is changed/);
  assert.match((await openspine('mesh', 'workflow', 'add', '--id', workflowId, '--senders', sender, '--receivers', recipient)).stdout, new RegExp(`senders ${sender}; receivers ${recipient}`));

  const mesh = meshTester(t);
  const messageId = await mesh.send(sender, recipient, workflowId, 'from the command line');
  assert.deepEqual((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).json<{ messages: string[] }>().messages, [messageId], 'the password kept through the change');

  const mailboxes = (await openspine('mesh', 'mailbox', 'list')).stdout;
  assert.match(mailboxes, new RegExp(`^${recipient}\\s+X26\\s+Recipient renamed$`, 'm'));
  assert.match((await openspine('mesh', 'workflow', 'list')).stdout, new RegExp(`^${workflowId}  senders: ${sender}  receivers: ${recipient}$`, 'm'));

  assert.match((await openspine('mesh', 'mailbox', 'deactivate', recipient.toLowerCase())).stdout, /is deactivated/);
  assert.match((await openspine('mesh', 'mailbox', 'list')).stdout, new RegExp(`^${recipient}.*\\(inactive\\)$`, 'm'));
  assert.equal((await mesh.call({ path: `/${recipient}/inbox`, version: 2 })).statusCode, 403);
});

test('refusals are messages, not stack traces', async () => {
  await assert.rejects(openspine('mesh', 'mailbox', 'add', '--id', id(), '--name', 'No password', '--ods', 'X26'), (error: { stderr: string }) => /is new: give it a password/.test(error.stderr));
  await assert.rejects(openspine('mesh', 'mailbox', 'deactivate', id()), (error: { stderr: string }) => /No MESH mailbox/.test(error.stderr));
  await assert.rejects(openspine('mesh', 'load'), (error: { stderr: string }) => /give --mailboxes, --workflows or both/.test(error.stderr));
});

test('mesh load reads JSON-lines files in the sandbox format, and names a bad line', async () => {
  const folder = await mkdtemp(path.join(tmpdir(), 'openspine-mesh-'));
  try {
    const [mailboxId, workflowId] = [id(), `WF_${id()}`];
    const mailboxes = path.join(folder, 'mailboxes.jsonl');
    const workflows = path.join(folder, 'workflows.jsonl');
    await writeFile(mailboxes, `${JSON.stringify({ mailbox_id: mailboxId, mailbox_name: 'Loaded', ods_code: 'X27', password: 'password' })}\n`);
    await writeFile(workflows, `${JSON.stringify({ workflow_id: workflowId, senders: [mailboxId], receivers: ['X26ABC1'] })}\n`);
    assert.match((await openspine('mesh', 'load', '--mailboxes', mailboxes, '--workflows', workflows)).stdout, /Loaded 1 mailboxes and 1 workflows/);
    assert.match((await openspine('mesh', 'workflow', 'list')).stdout, new RegExp(`^${workflowId}  senders: ${mailboxId}  receivers: X26ABC1$`, 'm'));

    await writeFile(mailboxes, '{"mailbox_id": "X1"}\n');
    await assert.rejects(openspine('mesh', 'load', '--mailboxes', mailboxes), (error: { stderr: string }) => /line 1: 'mailbox_name' must be a non-empty string/.test(error.stderr));
  } finally {
    await rm(folder, { recursive: true });
  }
});
