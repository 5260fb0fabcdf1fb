// What OpenSpine's OpenID Connect providers share (staff at the CIS2-shaped one, patients at the
// NHS login-shaped one): discovery, JWKS, the authorization code flow with PKCE and a sign-in page,
// single-use codes, ID and access tokens, userinfo. Each provider says only what differs: its
// paths, scopes and claims, and who signs in and how.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { JWTPayload } from 'jose';
import { noteActor, noteSubjects, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { bearerToken } from '../platform/http/access.ts';
import { formFields, type Form } from './form.ts';
import { NO_STORE, OAuthError, invalidGrant, invalidRequest, oauthReply } from './oauth-errors.ts';
import { escapeHtml, signInPage, type SignInForm, type SignInPageFields } from './sign-in-page.ts';
import { findApplication, insertAuthorizationCode, isTokenRevoked, revokeTokensOfReusedCode, takeAuthorizationCode, type CodeSubject } from './store.ts';
import { createJwtVerifier, publicKeySet, signJwt } from './tokens.ts';

const CODE_LIFETIME_SECONDS = 60;
/** An S256 code challenge: the base64url of a sha256, 43 characters (RFC 7636 section 4.2). */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** A code verifier: 43 to 128 unreserved characters (RFC 7636 section 4.1). */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** The sign-in pages are never shown inside another site's frame, where a person could be led to click what they do not see. */
const NOT_FRAMED = { 'x-frame-options': 'DENY', 'content-security-policy': "frame-ancestors 'none'" };

/**
 * The outcome of a sign-in attempt, with who tried (recorded in the audit trail either way): the
 * subject, or the error its page shows (with the wait, when the account is out of attempts:
 * sign-in-attempts.ts).
 */
export type SignInResult<S extends CodeSubject> = { subject: S; actor: Actor } | { error: string; retryAfterSeconds?: number; actor: Actor };

export type OidcProvider<S extends CodeSubject> = {
  /** The issuer's path on OpenSpine's base URL: the issuer of its tokens is the base URL plus this. */
  issuerPath: string;
  /** The endpoints' paths below the issuer path. */
  paths: { authorize: string; token: string; userinfo: string; jwks: string };
  /** What the provider's access token is called where userinfo declares it as its own credential. */
  accessTokenName: string;
  scopes: string[];
  claimsSupported: string[];
  /** Who signs in here: the kind of subject its codes carry; a code of the other kind is refused. */
  subjectKind: S['kind'];
  tokenLifetimeSeconds: number;
  /** The audience of the provider's own access tokens, which only its userinfo endpoint accepts. */
  userinfoAudience: string;
  form: SignInForm;
  /** `address`: the client's (sign-in-attempts.ts counts attempts by it). */
  signIn(form: Form, clientId: string, address: string): Promise<SignInResult<S>>;
  /**
   * The subject identifier and the claims of the ID token and of the access token for a redeemed
   * code, and who they are issued for (a patient's actor has their NHS number as its user id).
   */
  tokenClaims(subject: S, code: { scope: string; nonce: string | null; clientId: string }): Promise<{ sub: string; idClaims: JWTPayload; accessClaims: JWTPayload; actor: Actor }>;
  /** Userinfo's answer for the verified claims of the provider's access token, and whose it is. */
  userInfo(accessClaims: AccessClaims): Promise<{ claims: object; actor: Actor }>;
};

/** A provider's access token: its client is named as in RFC 9068 (JWT access tokens). */
export type AccessClaims = JWTPayload & { client_id?: string };

export function registerOidcProvider<S extends CodeSubject>(app: FastifyInstance, db: Database, publicBaseUrl: string, provider: OidcProvider<S>): void {
  const { issuerPath, paths } = provider;
  const issuer = publicBaseUrl + issuerPath;
  const authorizeUrl = issuer + paths.authorize;
  const verifyJwt = createJwtVerifier(db);
  // Discovery, keys and the sign-in are public; userinfo and the token endpoint check their own credentials.
  const open = { config: { access: { public: true as const }, write: false } };

  app.get(`${issuerPath}/.well-known/openid-configuration`, open, async () => ({
    issuer,
    authorization_endpoint: authorizeUrl,
    token_endpoint: issuer + paths.token,
    userinfo_endpoint: issuer + paths.userinfo,
    jwks_uri: issuer + paths.jwks,
    scopes_supported: provider.scopes,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['none'],
    claims_supported: provider.claimsSupported,
  }));

  app.get(issuerPath + paths.jwks, open, async () => publicKeySet(db));

  app.get(issuerPath + paths.authorize, open, async (request, reply) =>
    pageReply(reply, async () => {
      const fields = await authorizationRequest(db, provider.scopes, formFields(request.query));
      return reply.type('text/html; charset=utf-8').send(signInPage(provider.form, fields, { action: authorizeUrl }));
    }),
  );

  const signInDecision = { config: { ...open.config, securityDecision: true, interaction: 'sign-in' } };
  app.post(issuerPath + paths.authorize, signInDecision, async (request, reply) =>
    pageReply(reply, async () => {
      const form = formFields(request.body);
      const fields = await authorizationRequest(db, provider.scopes, form);
      const signedIn = await provider.signIn(form, fields.client_id, request.ip);
      noteActor(signedIn.actor);
      if ('error' in signedIn) {
        if (signedIn.retryAfterSeconds !== undefined) void reply.status(429).header('retry-after', String(signedIn.retryAfterSeconds));
        else void reply.status(401);
        return reply.type('text/html; charset=utf-8').send(signInPage(provider.form, fields, { action: authorizeUrl, error: signedIn.error, typed: form }));
      }
      return reply.redirect(await issueCode(db, fields, signedIn.subject), 302);
    }),
  );

  app.post(issuerPath + paths.token, { config: { ...open.config, securityDecision: true, interaction: 'token', oauthErrors: true } }, async (request, reply) =>
    oauthReply(reply, async () => {
      const tokenIds = { access: randomUUID(), id: randomUUID() };
      const code = await redeemCode(db, { subjectKind: provider.subjectKind, tokenIds: [tokenIds.access, tokenIds.id], tokenLifetimeSeconds: provider.tokenLifetimeSeconds }, formFields(request.body));
      const { sub, idClaims, accessClaims, actor } = await provider.tokenClaims(code.subject as S, code);
      noteWhoActs(actor);
      const lifetime = { subject: sub, lifetimeSeconds: provider.tokenLifetimeSeconds };
      return {
        access_token: await signJwt(db, { ...accessClaims, scope: code.scope, client_id: code.clientId }, { issuer, audience: provider.userinfoAudience, ...lifetime, jti: tokenIds.access }),
        id_token: await signJwt(db, { ...idClaims, ...(code.nonce ? { nonce: code.nonce } : {}) }, { issuer, audience: code.clientId, ...lifetime, jti: tokenIds.id }),
        token_type: 'Bearer',
        expires_in: provider.tokenLifetimeSeconds,
        scope: code.scope,
      };
    }),
  );

  // Userinfo gives out who signed in (a patient's NHS number, birth date, email): audited as a read of their data.
  const userinfoDecision = { config: { access: { public: true as const, ownCredential: provider.accessTokenName }, securityDecision: true, interaction: 'userinfo' } };
  app.get(issuerPath + paths.userinfo, userinfoDecision, async (request, reply) => {
    const token = bearerToken(request.headers.authorization);
    let claims: AccessClaims;
    try {
      claims = await verifyJwt(token ?? '', { issuer, audience: provider.userinfoAudience });
      if (typeof claims.jti !== 'string' || (await isTokenRevoked(db, claims.jti))) throw new Error('revoked');
    } catch {
      return reply.status(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'invalid_token', error_description: 'The access token is missing, invalid, expired or revoked' });
    }
    const answer = await provider.userInfo(claims);
    noteWhoActs(answer.actor);
    return reply.headers(NO_STORE).send(answer.claims);
  });
}

/** Notes for the audit trail who the tokens or the userinfo are for; a patient's are their own data. */
function noteWhoActs(actor: Actor): void {
  noteActor(actor);
  if (actor.mode === 'patient' && actor.userId) noteSubjects({ patientNhsNumbers: [actor.userId] });
}

/** Checks the authorization request's client, redirect URI, scopes and PKCE challenge; an unsafe redirect is never followed. */
async function authorizationRequest(db: Database, scopes: string[], query: Form): Promise<SignInPageFields> {
  if (query.response_type !== undefined && query.response_type !== 'code') throw invalidRequest("response_type must be 'code'");
  const application = await findApplication(db, query.client_id ?? '');
  if (!application || !application.redirectUris.includes(query.redirect_uri ?? '')) throw invalidRequest('Unknown client_id or a redirect_uri not registered for it');
  if (!query.code_challenge || query.code_challenge_method !== 'S256') throw invalidRequest('PKCE is required: code_challenge with code_challenge_method S256');
  if (!CODE_CHALLENGE.test(query.code_challenge)) throw invalidRequest('code_challenge must be the S256 challenge of a code verifier: 43 base64url characters');
  const scope = query.scope ?? 'openid';
  if (!scope.split(' ').includes('openid') || scope.split(' ').some((item) => !scopes.includes(item))) throw invalidRequest(`scope must include openid and only: ${scopes.join(' ')}`);
  return {
    client_id: application.applicationId,
    redirect_uri: query.redirect_uri ?? '',
    scope,
    state: query.state ?? '',
    nonce: query.nonce ?? '',
    code_challenge: query.code_challenge,
    code_challenge_method: 'S256',
  };
}

/** Stores a single-use code for the one who signed in; returns where to send their browser with it. */
async function issueCode(db: Database, fields: SignInPageFields, subject: CodeSubject): Promise<string> {
  const code = randomBytes(24).toString('base64url');
  await insertAuthorizationCode(db, {
    code,
    clientId: fields.client_id,
    subject,
    redirectUri: fields.redirect_uri,
    codeChallenge: fields.code_challenge,
    scope: fields.scope,
    nonce: fields.nonce || null,
    expiresAt: new Date(Date.now() + CODE_LIFETIME_SECONDS * 1000),
  });
  const target = new URL(fields.redirect_uri);
  target.searchParams.set('code', code);
  if (fields.state) target.searchParams.set('state', fields.state);
  return target.toString();
}

/**
 * Takes the code of an authorization_code grant: once, unexpired, by its client and redirect URI,
 * with the PKCE verifier; keeping the ids of the tokens to be issued for it. A code presented again
 * revokes the tokens its first redemption issued (migrations/0032_identity_code_reuse.sql).
 */
async function redeemCode(db: Database, redemption: { subjectKind: CodeSubject['kind']; tokenIds: string[]; tokenLifetimeSeconds: number }, form: Form) {
  if (form.grant_type !== 'authorization_code') throw new OAuthError(400, 'unsupported_grant_type', 'grant_type is invalid');
  if (!form.code || !form.code_verifier || !form.redirect_uri || !form.client_id) throw invalidRequest('code, code_verifier, redirect_uri and client_id are required');
  if (!CODE_VERIFIER.test(form.code_verifier)) throw invalidGrant('code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9 and - . _ ~');
  const code = await takeAuthorizationCode(db, form.code, redemption.tokenIds);
  if (!code && (await revokeTokensOfReusedCode(db, form.code, redemption.tokenLifetimeSeconds))) {
    throw invalidGrant('The authorization code was already used: the tokens issued for it are revoked');
  }
  if (!code || code.expiresAt.getTime() < Date.now() || code.subject.kind !== redemption.subjectKind) throw invalidGrant('The authorization code is invalid, expired or already used');
  if (code.clientId !== form.client_id || code.redirectUri !== form.redirect_uri) throw invalidGrant('The authorization code was issued to another client or redirect_uri');
  if (createHash('sha256').update(form.code_verifier).digest('base64url') !== code.codeChallenge) throw invalidGrant('code_verifier does not match the code_challenge');
  return code;
}

/** A refused authorization request is shown to the person as a page, never redirected to an unchecked URI. */
async function pageReply(reply: FastifyReply, work: () => Promise<FastifyReply>): Promise<FastifyReply> {
  void reply.headers(NOT_FRAMED);
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return reply.status(400).type('text/html; charset=utf-8').send(`<!doctype html><html lang="en"><title>Sign-in request refused</title><h1>Sign-in request refused</h1><p>${escapeHtml(error.description)}</p></html>`);
  }
}
