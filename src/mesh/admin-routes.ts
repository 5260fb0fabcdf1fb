// The MESH administration API (OpenSpine's addition, admin scope only): mailboxes and workflows,
// in the snake_case JSON of the NHS MESH sandbox's directory files. Under its own base path, away
// from /messageexchange, whose /admin paths are the NHS sandbox's (sandbox-routes.ts).
import type { FastifyInstance } from 'fastify';
import type { Database } from '../platform/db/connect.ts';
import { ADMIN_SCOPE, type AccessRule } from '../platform/http/access.ts';
import { deactivateMailbox, findMailbox, listMailboxes, listWorkflows, saveMailbox, saveWorkflow } from './admin.ts';
import type { MeshDirectory } from './directory-cache.ts';
import { Errors } from '../platform/errors.ts';

export const MESH_ADMIN_BASE = '/mesh-admin/v1';
const ADMIN: AccessRule = { modes: ['system'], scope: ADMIN_SCOPE };

/** Mailbox ids as MESH has them (X26ABC1, X26HC005): letters and digits, at most the spec's 100 of Mex-To. */
const MAILBOX_ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' } as const;
/** Workflow ids (TEST_WORKFLOW, GPFED_CONFIG_LOAD); the spec allows 300 characters, a URL segment here 200. */
const WORKFLOW_ID = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,200}$' } as const;
const TEXT = { type: 'string', minLength: 1, maxLength: 300 } as const;
const OPTIONAL_TEXT = { type: ['string', 'null'], maxLength: 300 } as const;

const mailboxBody = {
  type: 'object',
  additionalProperties: false,
  required: ['mailbox_name', 'ods_code'],
  properties: {
    mailbox_name: TEXT,
    ods_code: { type: 'string', pattern: '^[A-Za-z0-9]{1,10}$' },
    org_code: OPTIONAL_TEXT,
    org_name: OPTIONAL_TEXT,
    billing_entity: OPTIONAL_TEXT,
    password: { type: 'string', minLength: 8, maxLength: 200 },
    active: { type: 'boolean' },
  },
} as const;

const workflowBody = {
  type: 'object',
  additionalProperties: false,
  required: ['senders', 'receivers'],
  properties: { senders: { type: 'array', items: MAILBOX_ID, maxItems: 10_000 }, receivers: { type: 'array', items: MAILBOX_ID, maxItems: 10_000 } },
} as const;

type MailboxBody = { mailbox_name: string; ods_code: string; org_code?: string | null; org_name?: string | null; billing_entity?: string | null; password?: string; active?: boolean };
type MailboxParams = { mailboxId: string };
type WorkflowParams = { workflowId: string };

/** `directory`: what this process remembers of mailboxes and workflows, forgotten after each change made here. */
export function registerMeshAdmin(app: FastifyInstance, db: Database, directory: MeshDirectory): void {
  const config = { access: ADMIN };
  // Forgotten once the change has committed and before it is answered, failed or not: after the
  // answer, no call to this process is let through by what the change took away.
  const changing = async <T>(change: Promise<T>): Promise<T> => {
    try {
      return await change;
    } finally {
      directory.forget();
    }
  };
  const mailboxParams = { type: 'object', properties: { mailboxId: MAILBOX_ID } } as const;
  const workflowParams = { type: 'object', properties: { workflowId: WORKFLOW_ID } } as const;

  app.get(`${MESH_ADMIN_BASE}/mailboxes`, { config }, async () => ({ mailboxes: await listMailboxes(db) }));

  app.get<{ Params: MailboxParams }>(`${MESH_ADMIN_BASE}/mailboxes/:mailboxId`, { config, schema: { params: mailboxParams } }, async (request) =>
    findMailbox(db, request.params.mailboxId),
  );

  // Adds or replaces a mailbox (201 when new); the password may be left out to keep the one it has.
  app.put<{ Params: MailboxParams; Body: MailboxBody }>(`${MESH_ADMIN_BASE}/mailboxes/:mailboxId`, { config, schema: { params: mailboxParams, body: mailboxBody } }, async (request, reply) => {
    const body = request.body;
    const { mailbox, created } = await changing(saveMailbox(db, {
      mailboxId: request.params.mailboxId, mailboxName: body.mailbox_name, odsCode: body.ods_code.toUpperCase(), orgCode: body.org_code ?? null,
      orgName: body.org_name ?? null, billingEntity: body.billing_entity ?? null, password: body.password, active: body.active ?? true,
    }));
    return reply.status(created ? 201 : 200).send(mailbox);
  });

  // Deactivates: the mailbox and its messages stay, but it can neither sign in nor be sent to.
  app.delete<{ Params: MailboxParams }>(`${MESH_ADMIN_BASE}/mailboxes/:mailboxId`, { config, schema: { params: mailboxParams } }, async (request) =>
    changing(deactivateMailbox(db, request.params.mailboxId)),
  );

  app.get(`${MESH_ADMIN_BASE}/workflows`, { config }, async () => ({ workflows: await listWorkflows(db) }));

  app.get<{ Params: WorkflowParams }>(`${MESH_ADMIN_BASE}/workflows/:workflowId`, { config, schema: { params: workflowParams } }, async (request) => {
    const [workflow] = await listWorkflows(db, request.params.workflowId);
    if (workflow === undefined) throw Errors.notFound(`No MESH workflow ${request.params.workflowId}`);
    return workflow;
  });

  // Sets who may send and receive the workflow, replacing who could before.
  app.put<{ Params: WorkflowParams; Body: { senders: string[]; receivers: string[] } }>(
    `${MESH_ADMIN_BASE}/workflows/:workflowId`,
    { config, schema: { params: workflowParams, body: workflowBody } },
    async (request) => changing(saveWorkflow(db, { workflowId: request.params.workflowId, senders: request.body.senders, receivers: request.body.receivers })),
  );
}
