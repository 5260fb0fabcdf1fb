// NHS API conventions common to PDS, EPS, SCR and e-RS (../shared/specs/README.md, "Common"):
// X-Request-ID must be a UUID and is echoed back; X-Correlation-ID is echoed back.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors } from '../errors.ts';

/** Header values we can send back as they came: printable ASCII, at most 200 characters. */
const ECHOABLE = /^[\x20-\x7e]{1,200}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The id Fastify gives each request: the client's X-Request-ID when it is a UUID, else a new one. */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && UUID.test(given) ? given : randomUUID();
}

export function registerNhsHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const requestId = request.headers['x-request-id'];
    const correlationId = request.headers['x-correlation-id'];
    if (typeof requestId === 'string' && ECHOABLE.test(requestId)) reply.header('x-request-id', requestId);
    if (typeof correlationId === 'string' && ECHOABLE.test(correlationId)) reply.header('x-correlation-id', correlationId);
    if (requestId !== undefined && (typeof requestId !== 'string' || !UUID.test(requestId))) {
      throw Errors.invalidValue(`Invalid value - '${String(requestId)}' in header 'X-Request-ID'`);
    }
  });
}
