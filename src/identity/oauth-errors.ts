// OAuth 2.0 errors in the NHS API platform's shape: {"error": ..., "error_description": ...}
// (../shared/specs/identity/specification/components/schemas/ErrorResponse.yaml).
import type { FastifyReply } from 'fastify';
import { noteRefusal } from '../platform/context.ts';

export class OAuthError extends Error {
  readonly status: number;
  readonly error: string;
  readonly description: string;
  /** Sent as Retry-After: when the caller may try again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, error: string, description: string, options: { retryAfterSeconds?: number } = {}) {
    super(description);
    this.status = status;
    this.error = error;
    this.description = description;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * Sends what the work returns, or the OAuth error it throws in the platform's shape; never to be
 * kept by a cache, as tokens must not be (RFC 6749 section 5.1).
 */
export async function oauthReply(reply: FastifyReply, work: () => Promise<object>): Promise<FastifyReply> {
  void reply.headers(NO_STORE);
  try {
    return await reply.send(await work());
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    noteRefusal(`${error.error}: ${error.description}`);
    if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
    return reply.status(error.status).send(error.toBody());
  }
}

export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export const invalidRequest = (description: string) => new OAuthError(400, 'invalid_request', description);
export const invalidClient = (description: string) => new OAuthError(401, 'invalid_client', description);
export const unauthorizedClient = (description: string) => new OAuthError(401, 'unauthorized_client', description);
export const invalidGrant = (description: string) => new OAuthError(400, 'invalid_grant', description);
