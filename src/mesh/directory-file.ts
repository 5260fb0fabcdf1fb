// MESH's mailboxes and workflows from JSON-lines files in the NHS MESH sandbox's format
// (../shared/specs/mesh/src/mesh_sandbox/store/data/mailboxes.jsonl and workflows.jsonl): one
// object a line. All of a load lands or none of it; a bad line names itself.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Database } from '../platform/db/connect.ts';
import { replaceWorkflow, upsertMailbox, type Mailbox, type Workflow } from './directory-store.ts';

export class DirectoryFileError extends Error {}

export type DirectoryFiles = { mailboxesFile?: string | undefined; workflowsFile?: string | undefined };

/** Loads the files given: mailboxes are added or replaced, and each workflow's members replaced. */
export async function loadMeshDirectory(db: Database, files: DirectoryFiles): Promise<{ mailboxes: number; workflows: number }> {
  const mailboxes = files.mailboxesFile === undefined ? [] : await readLines(files.mailboxesFile, toMailbox);
  const workflows = files.workflowsFile === undefined ? [] : await readLines(files.workflowsFile, toWorkflow);
  await db.begin(async (tx) => {
    for (const mailbox of mailboxes) await upsertMailbox(tx, mailbox);
    for (const workflow of workflows) await replaceWorkflow(tx, workflow);
  });
  return { mailboxes: mailboxes.length, workflows: workflows.length };
}

async function readLines<T>(file: string, convert: (value: Record<string, unknown>) => T): Promise<T[]> {
  const records: T[] = [];
  let lineNumber = 0;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
      records.push(convert(value as Record<string, unknown>));
    } catch (error) {
      throw new DirectoryFileError(`${file} line ${lineNumber}: ${(error as Error).message}`, { cause: error });
    }
  }
  return records;
}

export function toMailbox(value: Record<string, unknown>): Mailbox {
  return {
    mailboxId: required(value, 'mailbox_id').toUpperCase(),
    mailboxName: required(value, 'mailbox_name'),
    odsCode: required(value, 'ods_code'),
    orgCode: optional(value, 'org_code'),
    orgName: optional(value, 'org_name'),
    billingEntity: optional(value, 'billing_entity'),
    password: required(value, 'password'),
    active: value.active === undefined ? true : value.active === true,
  };
}

export function toWorkflow(value: Record<string, unknown>): Workflow {
  return { workflowId: required(value, 'workflow_id'), senders: mailboxIds(value, 'senders'), receivers: mailboxIds(value, 'receivers') };
}

function required(value: Record<string, unknown>, field: string): string {
  const text = value[field];
  if (typeof text !== 'string' || text.trim() === '') throw new Error(`'${field}' must be a non-empty string`);
  return text.trim();
}

function optional(value: Record<string, unknown>, field: string): string | null {
  const text = value[field];
  if (text === undefined || text === null || text === '') return null;
  if (typeof text !== 'string') throw new Error(`'${field}' must be a string`);
  return text;
}

function mailboxIds(value: Record<string, unknown>, field: string): string[] {
  const list = value[field] ?? [];
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) throw new Error(`'${field}' must be a list of mailbox ids`);
  return list.map((id) => id.trim().toUpperCase());
}
