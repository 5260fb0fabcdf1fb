// `openspine mesh ...`: MESH's mailboxes and workflows from the command line (add, list, deactivate),
// and loading them from the NHS MESH sandbox's JSON-lines files.
import type { Command } from 'commander';
import { DirectoryFileError, deactivateMailbox, listMailboxes, listWorkflows, loadMeshDirectory, saveMailbox, saveWorkflow } from '../mesh/index.ts';
import type { ConfigInput } from '../platform/config.ts';
import { databaseOptions, withDatabase } from './shared.ts';

type MailboxOptions = ConfigInput & { id: string; name: string; ods: string; orgCode?: string; orgName?: string; billingEntity?: string; password?: string; inactive?: boolean };

const list = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

export function registerMeshCommands(program: Command): void {
  const mesh = program.command('mesh').description('MESH: mailboxes, the workflows they send and receive, and loading them from files');
  const mailbox = mesh.command('mailbox').description('MESH mailboxes');

  const add = databaseOptions(mailbox.command('add'))
    .description('add a mailbox, or change one (a mailbox that exists keeps its password unless --password is given)')
    .requiredOption('--id <mailboxId>', 'the mailbox id, e.g. X26ABC1')
    .requiredOption('--name <name>', 'the mailbox name')
    .requiredOption('--ods <code>', "the owning organisation's ODS code (endpoint lookup finds the mailbox by it)")
    .option('--org-code <code>', 'organisation code')
    .option('--org-name <name>', 'organisation name')
    .option('--billing-entity <name>', 'e.g. England or Wales')
    .option('--password <password>', 'the password its NHSMESH tokens are made with (at least 8 characters; needed for a new mailbox)')
    .option('--inactive', 'add it switched off');
  add.action(async (options: MailboxOptions) =>
    withDatabase(add, options, async (db) => {
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(options.id)) add.error('openspine: --id must be letters, digits, _ or -');
      if (options.password !== undefined && options.password.length < 8) add.error('openspine: --password must be at least 8 characters');
      const { mailbox: saved, created } = await saveMailbox(db, {
        mailboxId: options.id, mailboxName: options.name, odsCode: options.ods.toUpperCase(), orgCode: options.orgCode ?? null, orgName: options.orgName ?? null,
        billingEntity: options.billingEntity ?? null, password: options.password, active: !options.inactive,
      });
      console.log(`Mailbox ${saved.mailbox_id} is ${created ? 'added' : 'changed'}${saved.active ? '' : ' (inactive)'}.`);
    }),
  );

  const listMailboxesCommand = databaseOptions(mailbox.command('list')).description('list mailboxes: id, ODS code, name, and whether active');
  listMailboxesCommand.action(async (options: ConfigInput) =>
    withDatabase(listMailboxesCommand, options, async (db) => {
      for (const found of await listMailboxes(db)) console.log(`${found.mailbox_id.padEnd(12)} ${found.ods_code.padEnd(6)} ${found.mailbox_name}${found.active ? '' : '  (inactive)'}`);
    }),
  );

  const deactivate = databaseOptions(mailbox.command('deactivate'))
    .description('switch a mailbox off: it can no longer sign in or be sent to; its messages stay')
    .argument('<mailboxId>', 'the mailbox to switch off');
  deactivate.action(async (mailboxId: string, options: ConfigInput) =>
    withDatabase(deactivate, options, async (db) => {
      console.log(`Mailbox ${(await deactivateMailbox(db, mailboxId)).mailbox_id} is deactivated.`);
    }),
  );

  const workflow = mesh.command('workflow').description('MESH workflows: who may send and receive each');
  const addWorkflow = databaseOptions(workflow.command('add'))
    .description('set who may send and receive a workflow, replacing who could before')
    .requiredOption('--id <workflowId>', 'the workflow id, e.g. TEST_WORKFLOW')
    .option('--senders <mailboxIds>', 'comma-separated mailboxes that may send it', '')
    .option('--receivers <mailboxIds>', 'comma-separated mailboxes that may receive it', '');
  addWorkflow.action(async (options: ConfigInput & { id: string; senders: string; receivers: string }) =>
    withDatabase(addWorkflow, options, async (db) => {
      const saved = await saveWorkflow(db, { workflowId: options.id, senders: list(options.senders), receivers: list(options.receivers) });
      console.log(`Workflow ${saved.workflow_id}: senders ${saved.senders.join(', ') || 'none'}; receivers ${saved.receivers.join(', ') || 'none'}.`);
    }),
  );

  const listWorkflowsCommand = databaseOptions(workflow.command('list')).description('list workflows with their senders and receivers');
  listWorkflowsCommand.action(async (options: ConfigInput) =>
    withDatabase(listWorkflowsCommand, options, async (db) => {
      for (const found of await listWorkflows(db)) console.log(`${found.workflow_id}  senders: ${found.senders.join(', ') || 'none'}  receivers: ${found.receivers.join(', ') || 'none'}`);
    }),
  );

  const load = databaseOptions(mesh.command('load'))
    .description("load mailboxes and workflows from JSON-lines files in the NHS MESH sandbox's format (all of it lands or none)")
    .option('--mailboxes <file>', 'mailboxes, one JSON object a line (mailbox_id, mailbox_name, ods_code, password...)')
    .option('--workflows <file>', 'workflows, one JSON object a line (workflow_id, senders, receivers); each replaces the one of its id');
  load.action(async (options: ConfigInput & { mailboxes?: string; workflows?: string }) => {
    if (options.mailboxes === undefined && options.workflows === undefined) load.error('openspine: give --mailboxes, --workflows or both');
    await withDatabase(load, options, async (db) => {
      try {
        const loaded = await loadMeshDirectory(db, { mailboxesFile: options.mailboxes, workflowsFile: options.workflows });
        console.log(`Loaded ${loaded.mailboxes} mailboxes and ${loaded.workflows} workflows.`);
      } catch (error) {
        if (error instanceof DirectoryFileError || (error as NodeJS.ErrnoException).code === 'ENOENT') load.error(`openspine: ${(error as Error).message}`);
        throw error;
      }
    });
  });
}
