// The NHS MESH sandbox's extra endpoints, registered in sandbox mode only (outside it they do not
// exist: 404): its admin endpoints under /messageexchange/admin and /admin (no token needed, as in
// sandbox mode for every route), /health, and the rich inbox and outbox views, signed in as any
// mailbox route. Answers as the sandbox gives them: JSON, `{"detail": ...}` for a 404.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../platform/db/connect.ts';
import { ADMIN_SCOPE, type AccessRule } from '../platform/http/access.ts';
import type { Mailbox } from './directory-store.ts';
import type { MeshCounters } from './metrics.ts';
import { MESSAGE_STATUSES } from './store.ts';
import {
  SandboxNotFound, addMessageEvent, createReport, mailboxDetails, messageDetails, resetAllMailboxes, resetMailbox, richView,
  type MessageEventInput, type ReportInput, type RichListingQuery,
} from './sandbox.ts';
import { MEDIA_TYPES } from './views.ts';

/** Declared as administration; in sandbox mode, the only mode these exist in, no token is asked for. */
const SANDBOX_ADMIN = { access: { modes: ['system'], scope: ADMIN_SCOPE } satisfies AccessRule };
const PUBLIC = { access: { public: true } satisfies AccessRule };

type MailboxParams = { mailboxId: string };
type MessageParams = { messageId: string };

const TEXT = { type: 'string', maxLength: 500 } as const;
const OPTIONAL_TEXT = { type: ['string', 'null'], maxLength: 500 } as const;
const eventBody = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: MESSAGE_STATUSES.filter((status) => status !== 'uploading') },
    code: OPTIONAL_TEXT, event: OPTIONAL_TEXT, description: OPTIONAL_TEXT, linked_message_id: OPTIONAL_TEXT,
  },
} as const;
const reportBody = {
  type: 'object',
  required: ['mailbox_id', 'code', 'description', 'workflow_id'],
  properties: {
    mailbox_id: { type: 'string', minLength: 1, maxLength: 100 }, code: TEXT, description: TEXT, workflow_id: { type: 'string', minLength: 1, maxLength: 300 },
    status: { type: 'string', enum: ['undeliverable', 'error'] },
    subject: OPTIONAL_TEXT, local_id: OPTIONAL_TEXT, file_name: OPTIONAL_TEXT, linked_message_id: OPTIONAL_TEXT,
  },
} as const;

export type SandboxDeps = { db: Database; now: () => Date; counters?: MeshCounters };

export function registerSandboxAdmin(app: FastifyInstance, deps: SandboxDeps): void {
  const { db } = deps;
  const notFound = (reply: FastifyReply, error: unknown) => {
    if (!(error instanceof SandboxNotFound)) throw error;
    return reply.status(404).send({ detail: error.message });
  };
  const health = async () => ({ env: 'sandbox', status: 'running', outcome: 'Yes' });
  app.get('/health', { config: PUBLIC }, health);
  app.get('/healthcheck', { config: PUBLIC }, health);

  // The sandbox serves most of these both with and without the /messageexchange prefix.
  for (const base of ['/messageexchange/admin', '/admin']) {
    app.delete(`${base}/reset`, { config: SANDBOX_ADMIN }, async () => {
      await resetAllMailboxes(db);
      return { message: 'all mailboxes reset' };
    });
    app.delete<{ Params: MailboxParams }>(`${base}/reset/:mailboxId`, { config: SANDBOX_ADMIN }, async (request, reply) => {
      const mailboxId = request.params.mailboxId.toUpperCase();
      try {
        await resetMailbox(db, mailboxId);
      } catch (error) {
        return notFound(reply, error);
      }
      return { message: `mailbox ${mailboxId} reset` };
    });
    app.get<{ Params: MailboxParams }>(`${base}/mailbox/:mailboxId`, { config: SANDBOX_ADMIN }, (request, reply) =>
      mailboxDetails(db, request.params.mailboxId.toUpperCase()).catch((error: unknown) => notFound(reply, error)),
    );
    app.get<{ Params: MessageParams }>(`${base}/message/:messageId`, { config: SANDBOX_ADMIN }, (request, reply) =>
      messageDetails(db, request.params.messageId.toUpperCase()).catch((error: unknown) => notFound(reply, error)),
    );
    app.post<{ Params: MessageParams; Body: MessageEventInput }>(`${base}/message/:messageId/event`, { config: SANDBOX_ADMIN, schema: { body: eventBody } }, async (request, reply) => {
      try {
        await addMessageEvent(db, request.params.messageId.toUpperCase(), request.body, deps.now());
      } catch (error) {
        return notFound(reply, error);
      }
      return reply.status(200).send();
    });
  }
  app.post<{ Body: ReportInput }>('/messageexchange/admin/report', { config: SANDBOX_ADMIN, schema: { body: reportBody } }, async (request, reply) => {
    try {
      return { message_id: await createReport(db, request.body, deps.now()) };
    } catch (error) {
      return notFound(reply, error);
    }
  });
}

/** The rich inbox and outbox views, inside the MESH routes' plugin so that they sign their mailbox in. */
export function registerRichViews(
  mesh: FastifyInstance,
  deps: { db: Database; now: () => Date; mailboxOf: (request: FastifyRequest) => Mailbox; config: { access: AccessRule } },
): void {
  for (const box of ['inbox', 'outbox'] as const) {
    mesh.get<{ Params: MailboxParams; Querystring: RichListingQuery }>(`/:mailboxId/${box}/rich`, { config: deps.config }, async (request, reply) => {
      const view = await richView(deps.db, box, deps.mailboxOf(request), request.query, deps.now());
      return reply.type(MEDIA_TYPES[2]).send(view);
    });
  }
}
