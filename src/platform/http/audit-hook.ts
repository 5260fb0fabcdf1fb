// Every request to a non-public route, and every refusal, is reported to the audit trail before
// its response is sent: a response with patient data never leaves before its record is durable.
// Only a successful answer of a route declared without patient data (`patientData: false`) leaves
// while its record is being written: nothing waits on a commit that protects no patient, and a
// crash can lose at most the last moment of such records, never a refusal or a patient's record.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditOutcome, AuditSink } from '../audit.ts';
import { currentContext } from '../context.ts';
import { Errors } from '../errors.ts';
import { FHIR_JSON } from './errors.ts';

/** What becomes of a failure to record a request already answered: the sink has logged it (AuditSink). */
const LOGGED_BY_THE_SINK = (): void => undefined;

/** Seconds a client is told to wait when the audit trail cannot record its request. */
const AUDIT_RETRY_AFTER = 5;

export function registerAuditHook(app: FastifyInstance, sink: AuditSink): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!isAudited(request, reply)) return payload;
    const context = currentContext();
    try {
      const held = isHeld(request, reply) || sink.backlogged?.() === true;
      const recorded = sink.record({
        occurredAt: new Date(),
        requestId: request.id,
        correlationId: context?.correlationId,
        actor: context?.actor,
        service: request.url.split('/')[1] ?? '',
        interaction: request.routeOptions.config.interaction ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
        outcome: outcomeOf(reply.statusCode),
        status: reply.statusCode,
        patientNhsNumbers: [...(context?.subjects.patientNhsNumbers ?? [])],
        resourceIds: [...(context?.subjects.resourceIds ?? [])],
        detail: context?.refusal,
      }, { awaited: held });
      // Not held: the sink resolves at once and logs a failure itself (AuditSink). The catch is a
      // guard against a sink that rejects anyway, and keeps nothing of the request alive.
      if (held) await recorded;
      else recorded.catch(LOGGED_BY_THE_SINK);
      return payload;
    } catch (error) {
      request.log.error({ err: error }, 'the audit trail could not record a request; its response is withheld');
      const unavailable = Errors.unavailable('The audit trail could not record this request, so its response is withheld; retry with the same X-Request-ID', AUDIT_RETRY_AFTER);
      withholdHeaders(reply);
      void reply.code(unavailable.status).headers(unavailable.headers).type(FHIR_JSON);
      return JSON.stringify(unavailable.toOperationOutcome());
    }
  });
}

/**
 * Withholding a response withholds its headers too: a sign-in's redirect carries its authorization
 * code in Location, a read its version in ETag. Only the request and correlation ids echoed to
 * the client stay.
 */
function withholdHeaders(reply: FastifyReply): void {
  for (const name of Object.keys(reply.getHeaders())) if (!ECHOED_HEADERS.has(name)) reply.removeHeader(name);
}

const ECHOED_HEADERS = new Set(['x-request-id', 'x-correlation-id']);

/**
 * Routes with a data access rule are audited whatever the outcome, and so are the public routes
 * that make security decisions themselves (sign-in, tokens); other public ones only when refused.
 */
function isAudited(request: FastifyRequest, reply: FastifyReply): boolean {
  if (reply.statusCode === 401 || reply.statusCode === 403) return true;
  if (request.is404) return false;
  if (request.routeOptions.config.securityDecision) return true;
  const rule = request.routeOptions.config.access;
  return rule !== undefined && !('public' in rule);
}

/** Every response waits for its record but a success of a route that declared it carries no patient data. */
function isHeld(request: FastifyRequest, reply: FastifyReply): boolean {
  return request.routeOptions.config.patientData !== false || outcomeOf(reply.statusCode) !== 'success';
}

function outcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) return 'denied';
  return status < 400 ? 'success' : 'failure';
}
