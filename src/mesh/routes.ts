// The MESH API at /messageexchange, as NHS MESH clients call it (../shared/specs/mesh/specification/
// mesh-api.yaml): each mailbox route signs its caller in with the NHSMESH header, reads bodies as
// streams (never whole), and answers in MESH's JSON, v1 or v2 by the Accept header.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { noteActor, noteRefusal, noteSubjects } from '../platform/context.ts';
import type { AccessRule } from '../platform/http/access.ts';
import { createMailboxSignIn, type PendingNonce } from './authenticate.ts';
import { receivingMailboxes, recordHandshake, type Mailbox } from './directory-store.ts';
import { MeshError, MeshErrors } from './errors.ts';
import { acknowledge, encodeContinueFrom, inboxCount, listInboxPage, openDownload, type InboxQuery } from './inbox.ts';
import { newMessageId } from './message-id.ts';
import { registerRichViews } from './sandbox-routes.ts';
import { sendChunk, sendMessage, type Body, type MeshDeps, type MexHeaders } from './send.ts';
import { trackByLocalId, trackByMessageId } from './tracking.ts';
import { MEDIA_TYPES, apiVersion, downloadHeaders, endpointLookupView, errorView, sentView, trackingV1, trackingV2, workflowSearchView, type ApiVersion } from './views.ts';

export const MESH_BASE = '/messageexchange';
const MESH_CREDENTIAL = 'NHSMESH authorization header';
/** A mailbox route: public to the platform, signed in here; every call audited with its mailbox. */
const MAILBOX = { access: { public: true, ownCredential: MESH_CREDENTIAL } satisfies AccessRule, securityDecision: true };
/**
 * A mailbox route whose first statement records the token's nonce itself (PendingNonce.within):
 * the calls of every small message, the handshake, the inbox count and tracking, which so save a
 * round trip each. Other mailbox routes record it as they sign in, before their handler runs.
 */
const MAILBOX_NONCE_IN_STATEMENT = { ...MAILBOX, meshNonceInStatement: true };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** MESH: the handler records the NHSMESH token's nonce in its own first statement (routes.ts). */
    meshNonceInStatement?: boolean;
  }
}
const LOOKUP = { access: { public: true } satisfies AccessRule };

export type MeshRouteDeps = MeshDeps & { sharedKey: string; sandbox: boolean };

type MailboxParams = { mailboxId: string };
type MessageParams = MailboxParams & { messageId: string };
type ChunkParams = MessageParams & { chunkNumber: string };

export function registerMeshRoutes(app: FastifyInstance, deps: MeshRouteDeps): void {
  const { db } = deps;
  const signIn = createMailboxSignIn(db, deps.directory, { sharedKey: deps.sharedKey, now: deps.now });
  const signedIn = new WeakMap<FastifyRequest, { mailbox: Mailbox; nonce: PendingNonce }>();
  const signInOf = (request: FastifyRequest) => {
    const found = signedIn.get(request);
    if (found === undefined) throw new Error('A mailbox route ran without its mailbox signed in');
    return found;
  };
  const mailboxOf = (request: FastifyRequest): Mailbox => signInOf(request).mailbox;
  const nonceOf = (request: FastifyRequest): PendingNonce => signInOf(request).nonce;

  void app.register(async (mesh) => {
    // Bodies of any type reach the handlers as the raw stream, which they store part by part.
    mesh.removeAllContentTypeParsers();
    mesh.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    mesh.addHook('onRequest', async (request) => {
      const rule = request.routeOptions.config.access;
      if (rule === undefined || !('public' in rule) || rule.ownCredential !== MESH_CREDENTIAL) return;
      const { mailboxId } = request.params as MailboxParams;
      const { mailbox, nonce } = await signIn(request.headers.authorization, mailboxId.toUpperCase());
      if (request.routeOptions.config.meshNonceInStatement !== true) await nonce.spend();
      noteActor({ mode: 'mesh-mailbox', applicationId: mailbox.mailboxId, organisationOds: mailbox.odsCode, activityCodes: [] });
      signedIn.set(request, { mailbox, nonce });
    });

    // A safety net: a handler that answers without having recorded its nonce records it now.
    mesh.addHook('onSend', async (request, _reply, payload) => {
      await signedIn.get(request)?.nonce.spend();
      return payload;
    });

    mesh.setErrorHandler(async (thrown, request, reply) => {
      // A call refused before its statement recorded the nonce records it now: a replayed token is
      // refused as such whatever else was wrong, as when the nonce is recorded at sign-in.
      const error = await nonceRecorded(signedIn.get(request)?.nonce, thrown);
      if (!(error instanceof MeshError)) throw error; // the platform's own (read-only, X-Request-ID...) answer as everywhere
      noteRefusal(`${error.code === '' ? String(error.status) : error.code}: ${error.description}`);
      // A body not read to its end is not worth reading now: close instead of draining it.
      if (!request.raw.complete) void reply.header('connection', 'close');
      const version = apiVersion(request.headers.accept);
      return reply.status(error.status).type(MEDIA_TYPES[version]).send(errorView(error, version, request.id));
    });

    mesh.get('/_ping', { config: LOOKUP }, async () => ({ status: 'running', outcome: 'Yes' }));

    // Handshake: the spec declares POST, its example uses GET; both work.
    const handshake = async (request: FastifyRequest<{ Params: MailboxParams }>, reply: FastifyReply) => {
      discardBody(request);
      const mailbox = mailboxOf(request);
      const client = { clientVersion: header(request, 'mex-clientversion'), osName: header(request, 'mex-osname'), osVersion: header(request, 'mex-osversion') };
      const missing = Object.entries({ 'mex-ClientVersion': client.clientVersion, 'mex-OSName': client.osName, 'mex-OSVersion': client.osVersion }).filter(([, value]) => !value);
      if (missing.length > 0) throw MeshErrors.invalidRequest(`Missing header: ${missing.map(([name]) => name).join(', ')}`);
      const stated = client as { clientVersion: string; osName: string; osVersion: string };
      await nonceOf(request).within((used) => recordHandshake(db, mailbox.mailboxId, deps.now(), stated, used));
      const version = apiVersion(request.headers.accept);
      return version === 2 ? reply.status(200).send() : reply.type(MEDIA_TYPES[1]).send({ mailboxId: mailbox.mailboxId });
    };
    mesh.post<{ Params: MailboxParams }>('/:mailboxId', { config: MAILBOX_NONCE_IN_STATEMENT }, handshake);
    mesh.get<{ Params: MailboxParams }>('/:mailboxId', { config: MAILBOX_NONCE_IN_STATEMENT }, handshake);

    mesh.get<{ Params: MailboxParams; Querystring: InboxQuery }>('/:mailboxId/inbox', { config: MAILBOX_NONCE_IN_STATEMENT }, async (request, reply) => {
      const mailbox = mailboxOf(request);
      const page = await listInboxPage(db, mailbox, request.query, nonceOf(request));
      const version = apiVersion(request.headers.accept);
      if (version === 1) return reply.type(MEDIA_TYPES[1]).send({ messages: page.messageIds });
      const link = (continueFrom?: string) => {
        const query = new URLSearchParams();
        if (request.query.max_results !== undefined) query.set('max_results', String(page.maxResults));
        if (page.workflowFilter !== undefined) query.set('workflow_filter', page.workflowFilter);
        if (continueFrom !== undefined) query.set('continue_from', continueFrom);
        const text = query.toString();
        return `${MESH_BASE}/${mailbox.mailboxId}/inbox${text === '' ? '' : `?${text}`}`;
      };
      const links: Record<string, string> = { self: link() };
      if (page.continueAfter !== undefined) links.next = link(encodeContinueFrom(page.continueAfter));
      return reply.type(MEDIA_TYPES[2]).send({ messages: page.messageIds, links, approx_inbox_count: page.approxInboxCount });
    });

    mesh.get<{ Params: MailboxParams }>('/:mailboxId/count', { config: MAILBOX_NONCE_IN_STATEMENT }, async (request, reply) => {
      const count = await inboxCount(db, mailboxOf(request), nonceOf(request));
      const version = apiVersion(request.headers.accept);
      if (version === 2) return reply.type(MEDIA_TYPES[2]).send({ count });
      return reply.type(MEDIA_TYPES[1]).send({ count, internalID: newMessageId(deps.now()), allResultsIncluded: true });
    });

    /** A chunk's body as it streams from the database, or (for HEAD) its headers alone, with 200. */
    const download = async (request: FastifyRequest<{ Params: MessageParams }>, reply: FastifyReply, chunkNumber: number, head = false) => {
      const { messageId } = request.params;
      const found = await openDownload(db, mailboxOf(request), messageId.toUpperCase(), chunkNumber, !head, nonceOf(request));
      noteSubjects({ resourceIds: [`MeshMessage/${found.message.messageId}`] });
      if (!head && !found.partial) deps.counters?.delivered(found.message.workflowId);
      void reply.status(found.partial && !head ? 206 : 200).headers(downloadHeaders(found.message, found.chunkNumber, found.chunk));
      return reply.send(found.body ?? '');
    };
    // HEAD is declared by itself, so that it reads no part of the body (Fastify's own would run the GET).
    mesh.get<{ Params: MessageParams }>('/:mailboxId/inbox/:messageId', { config: MAILBOX_NONCE_IN_STATEMENT, exposeHeadRoute: false }, (request, reply) => download(request, reply, 1));
    mesh.head<{ Params: MessageParams }>('/:mailboxId/inbox/:messageId', { config: MAILBOX_NONCE_IN_STATEMENT }, (request, reply) => download(request, reply, 1, true));
    mesh.get<{ Params: ChunkParams }>('/:mailboxId/inbox/:messageId/:chunkNumber', { config: MAILBOX_NONCE_IN_STATEMENT, exposeHeadRoute: false }, (request, reply) =>
      download(request, reply, chunkNumberOf(request.params.chunkNumber)),
    );

    mesh.put<{ Params: MessageParams }>('/:mailboxId/inbox/:messageId/status/acknowledged', { config: MAILBOX_NONCE_IN_STATEMENT }, async (request, reply) => {
      discardBody(request);
      const messageId = request.params.messageId.toUpperCase();
      const { message, acknowledgedNow } = await acknowledge(db, mailboxOf(request), messageId, deps.now(), nonceOf(request));
      if (acknowledgedNow) deps.counters?.acknowledged(message.workflowId);
      noteSubjects({ resourceIds: [`MeshMessage/${messageId}`] });
      return apiVersion(request.headers.accept) === 2 ? reply.status(200).send() : reply.type(MEDIA_TYPES[1]).send({ messageId });
    });

    // The NHS MESH sandbox's rich inbox and outbox views: in sandbox mode only.
    if (deps.sandbox) registerRichViews(mesh, { db, now: deps.now, mailboxOf, config: MAILBOX });

    mesh.post<{ Params: MailboxParams }>('/:mailboxId/outbox', { config: MAILBOX_NONCE_IN_STATEMENT }, async (request, reply) => {
      const messageId = await sendMessage(deps, mailboxOf(request), mexHeaders(request), bodyOf(request), nonceOf(request));
      noteSubjects({ resourceIds: [`MeshMessage/${messageId}`] });
      return sent(reply, messageId, apiVersion(request.headers.accept));
    });

    mesh.post<{ Params: ChunkParams }>('/:mailboxId/outbox/:messageId/:chunkNumber', { config: MAILBOX }, async (request, reply) => {
      const messageId = request.params.messageId.toUpperCase();
      const chunkNumber = chunkNumberOf(request.params.chunkNumber);
      await sendChunk(deps, mailboxOf(request), messageId, chunkNumber, mexHeaders(request), bodyOf(request));
      noteSubjects({ resourceIds: [`MeshMessage/${messageId}`] });
      return sent(reply, messageId, apiVersion(request.headers.accept));
    });

    mesh.get<{ Params: MailboxParams; Querystring: { messageID?: string } }>('/:mailboxId/outbox/tracking', { config: MAILBOX_NONCE_IN_STATEMENT }, async (request, reply) => {
      const messageId = request.query.messageID?.trim().toUpperCase();
      if (!messageId) throw MeshErrors.invalidRequest('The messageID query parameter is required');
      const tracked = await trackByMessageId(deps, mailboxOf(request), messageId, nonceOf(request));
      noteSubjects({ resourceIds: [`MeshMessage/${messageId}`] });
      const version = apiVersion(request.headers.accept);
      return reply.type(MEDIA_TYPES[version]).send(version === 2 ? trackingV2(tracked.message, tracked.recipient) : trackingV1(tracked.message, tracked.sender, tracked.recipient));
    });

    // Deprecated, and v1 only in the spec.
    mesh.get<{ Params: MailboxParams & { localId: string } }>('/:mailboxId/outbox/tracking/:localId', { config: MAILBOX_NONCE_IN_STATEMENT }, async (request, reply) => {
      const tracked = await trackByLocalId(deps, mailboxOf(request), request.params.localId, nonceOf(request));
      noteSubjects({ resourceIds: [`MeshMessage/${tracked.message.messageId}`] });
      return reply.type(MEDIA_TYPES[1]).send(trackingV1(tracked.message, tracked.sender, tracked.recipient));
    });

    mesh.get<{ Params: { odsCode: string; workflowId: string } }>('/endpointlookup/:odsCode/:workflowId', { config: LOOKUP }, async (request, reply) => {
      const mailboxes = await receivingMailboxes(db, request.params.workflowId, request.params.odsCode.toUpperCase());
      const version = apiVersion(request.headers.accept);
      const now = deps.now();
      return reply.type(MEDIA_TYPES[version]).send(endpointLookupView(mailboxes, version, `${newMessageId(now)}_${Math.floor(now.getTime() / 1000)}`));
    });

    mesh.get<{ Params: { workflowId: string } }>('/workflowsearch/:workflowId', { config: LOOKUP }, async (request, reply) => {
      const mailboxes = await receivingMailboxes(db, request.params.workflowId);
      return reply.type(MEDIA_TYPES[apiVersion(request.headers.accept)]).send(workflowSearchView(mailboxes));
    });
  }, { prefix: MESH_BASE });
}

/** The error to answer with once the call's nonce is recorded: a replay's refusal, or what was thrown. */
async function nonceRecorded(nonce: PendingNonce | undefined, thrown: unknown): Promise<unknown> {
  try {
    await nonce?.spend();
    return thrown;
  } catch (replayed) {
    return replayed;
  }
}

function sent(reply: FastifyReply, messageId: string, version: ApiVersion): FastifyReply {
  return reply.status(202).type(MEDIA_TYPES[version]).send(sentView(messageId, version));
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function mexHeaders(request: FastifyRequest): MexHeaders {
  return Object.fromEntries(Object.keys(request.headers).map((name) => [name, header(request, name)]));
}

function bodyOf(request: FastifyRequest): Body {
  const length = header(request, 'content-length');
  return { contentLength: length === undefined ? undefined : Number(length), stream: request.body as Readable | undefined };
}

/** A body nobody reads (a v1 acknowledgement's `{"messageId"}`) is let through rather than left waiting. */
function discardBody(request: FastifyRequest): void {
  (request.body as Readable | undefined)?.resume();
}

function chunkNumberOf(value: string): number {
  const chunk = Number(value);
  if (!Number.isInteger(chunk) || chunk < 1) throw MeshErrors.invalidRequest(`Chunk number '${value}' is not a whole number from 1`);
  return chunk;
}
