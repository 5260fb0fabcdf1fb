// What each route declares it needs (access modes, activity codes, scopes), and the one access
// decision made for every request before its handler runs. A route with no declaration is refused
// rather than left open (../shared/style.md habit 7).
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { noteActor, type Actor } from '../context.ts';
import { Errors } from '../errors.ts';

export type AccessMode = Actor['mode'];

export type AccessRule =
  /**
   * Health, metadata and discovery: no access token needed. A route that checks a credential of
   * its own instead (a CIS2 token, a client assertion) names it in `ownCredential`.
   */
  | { public: true; ownCredential?: string }
  | {
      /** The access modes allowed (../shared/specs/README.md section 1). */
      modes: AccessMode[];
      /** National RBAC activity codes, any one of which grants access (e.g. B0570). */
      activities?: string[];
      /** An OpenSpine scope the token must carry, for our own administration routes. */
      scope?: string;
    };

/** What a verified access token says about its bearer. */
export type TokenGrant = { actor: Actor; scopes: string[] };
/** Verifies a bearer token in the light of the request's headers (NHSD-Session-URID, NHSD-End-User-Organisation-ODS). */
export type Authenticator = (token: string, headers: IncomingHttpHeaders) => Promise<TokenGrant>;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
    /** Whether the route changes data (refused in read-only mode); by default, every method but GET and HEAD. */
    write?: boolean;
    /** The interaction named in its audit records, e.g. the FHIR `read` or `search-type`. */
    interaction?: string;
    /** A public route that makes a security decision itself (signs in, issues tokens): always audited. */
    securityDecision?: boolean;
    /**
     * false for a route whose answers never carry patient data (the directory's organisations):
     * its successful responses are recorded by the audit trail's same group commit but are not held
     * until the record is durable (src/platform/http/audit-hook.ts). Every other route is held.
     */
    patientData?: boolean;
    /**
     * An OAuth endpoint: what the platform refuses before its handler runs (a body of another
     * media type, or too large) is answered as OAuth answers, {"error", "error_description"}
     * (RFC 6749 section 5.2), not as an OperationOutcome (src/platform/http/errors.ts).
     */
    oauthErrors?: boolean;
  }
}

/** OpenSpine's own scopes, for routes that are our additions: administration and audit search. */
export const ADMIN_SCOPE = 'openspine:admin';
export const AUDIT_SCOPE = 'openspine:audit';

export const SANDBOX_ACTOR: Actor = Object.freeze({ mode: 'sandbox', activityCodes: [] });

/** Decides whether the request may proceed; returns the actor to record, or throws 401 / 403. */
export async function decideAccess(request: FastifyRequest, options: { sandbox: boolean; authenticate: Authenticator }): Promise<Actor | undefined> {
  if (request.is404) return undefined; // no route: the not-found handler answers, with no data
  const rule = request.routeOptions.config.access;
  if (rule === undefined) throw Errors.accessDenied('This route declares no access rule, so it is refused');
  if ('public' in rule) return undefined;
  if (options.sandbox) return SANDBOX_ACTOR;
  const token = bearerToken(request.headers.authorization);
  if (token === undefined) throw Errors.unauthenticated('Missing access token: send Authorization: Bearer <token>');
  const grant = await options.authenticate(token, request.headers);
  const { actor } = grant;
  noteActor(actor); // known from here on, so a refusal below is audited with who was refused
  if (!rule.modes.includes(actor.mode)) {
    throw Errors.accessDenied(`Access denied: the ${actor.mode} access mode may not use this endpoint`);
  }
  if (rule.activities && !rule.activities.some((code) => actor.activityCodes.includes(code))) {
    throw Errors.accessDenied(`Access denied: the role needs one of the activities ${rule.activities.join(', ')}`);
  }
  if (rule.scope && !grant.scopes.includes(rule.scope)) {
    throw Errors.accessDenied(`Access denied: the token lacks the scope '${rule.scope}'`);
  }
  return actor;
}

/**
 * What follows `Bearer ` (the scheme in any case, then whitespace). Read without a regular
 * expression, which cost a microsecond a request on tokens of some 700 characters; a token with
 * whitespace inside fails its verification. Undefined when the header holds no bearer token.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const rest = header?.slice(0, 6).toLowerCase() === 'bearer' ? header.slice(6) : '';
  const token = rest.trim();
  return token && rest.trimStart().length !== rest.length ? token : undefined;
}
