// The one error handler: every error becomes an OperationOutcome with the NHS error coding and
// the right status. A client's mistake is a 4xx; only our own faults are a 500, and those are logged.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { noteRefusal } from '../context.ts';
import { Errors, SpineError } from '../errors.ts';
import type { Metrics } from './metrics.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function registerErrorHandling(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((error: FastifyError | SpineError, request, reply) => sendError(toSpineError(error, request), request, reply, metrics));
  app.setNotFoundHandler((request, reply) =>
    sendError(Errors.unsupportedRequest(`Unsupported path - '${request.url.split('?')[0] ?? ''}'`), request, reply, metrics),
  );
}

function sendError(error: SpineError, request: FastifyRequest, reply: FastifyReply, metrics: Metrics): FastifyReply {
  metrics.errors.inc({ code: error.spineCode, status: String(error.status) });
  noteRefusal(`${error.spineCode}: ${error.diagnostics ?? ''}`);
  if (error.status >= 500) request.log.error({ err: error.cause ?? error }, 'request failed');
  else request.log.info({ status: error.status, code: error.spineCode, diagnostics: error.diagnostics }, 'request refused');
  if (request.routeOptions.config.oauthErrors) return reply.status(error.status).headers(error.headers).send(oauthErrorBody(error));
  return reply.status(error.status).headers(error.headers).type(FHIR_JSON).send(error.toOperationOutcome());
}

/** RFC 6749's error codes: the client's mistake, or ours (temporarily, when we say to retry). */
function oauthErrorBody(error: SpineError): { error: string; error_description: string } {
  const code = error.status < 500 ? 'invalid_request' : error.status === 503 ? 'temporarily_unavailable' : 'server_error';
  return { error: code, error_description: error.diagnostics ?? error.spineCode };
}

/** Errors of Fastify's router, before any route or hook runs (a malformed URL, an overlong segment). */
export function replyToFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const spineError = toSpineError(error, request);
  void reply.status(spineError.status).headers(spineError.headers).type(FHIR_JSON).send(spineError.toOperationOutcome());
}

/** Maps Fastify's own errors (routing, body parsing, limits, validation) onto the NHS codes. */
function toSpineError(error: FastifyError | SpineError, request: FastifyRequest): SpineError {
  if (error instanceof SpineError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return Errors.payloadTooLarge(`Request body is larger than the limit of ${request.routeOptions.bodyLimit ?? 0} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return Errors.unsupportedMediaType(`Unsupported content type '${request.headers['content-type'] ?? ''}': send ${request.routeOptions.config.oauthErrors ? 'application/x-www-form-urlencoded' : 'application/fhir+json'}`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return Errors.malformedBody('The request body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return Errors.malformedBody('The Content-Length header does not match the body');
    case 'FST_ERR_VALIDATION':
      return Errors.invalidValue(error.message);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new SpineError({ status: 414, code: 'too-long', spineCode: 'INVALID_REQUEST', diagnostics: 'A segment of the URL path is too long' });
    case 'FST_ERR_BAD_URL':
      return new SpineError({ status: 400, code: 'invalid', spineCode: 'INVALID_REQUEST', diagnostics: 'The URL is malformed' });
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return Errors.malformedBody(`The request body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return Errors.invalidValue(error.message);
  }
  const unknown = Errors.unknown();
  (unknown as { cause?: unknown }).cause = error;
  return unknown;
}
