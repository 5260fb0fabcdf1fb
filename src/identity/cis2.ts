// An OpenID Connect provider for staff, shaped like NHS CIS2: discovery, JWKS, the authorization
// code flow with PKCE and a sign-in page, an ID token and userinfo carrying nhsid_useruid,
// nhsid_nrbac_roles and selected_roleid. ../shared/specs/README.md section 6 (CIS2 OIDC).
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { JWTPayload } from 'jose';
import { noteActor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { OAuthError, invalidGrant, invalidRequest, oauthReply } from './oauth-errors.ts';
import { passwordMatches } from './passwords.ts';
import { escapeHtml, signInPage, type SignInPageFields } from './sign-in-page.ts';
import { findApplication, findPerson, insertAuthorizationCode, roleProfilesOf, takeAuthorizationCode, type Person, type RoleProfile } from './store.ts';
import { createJwtVerifier, publicKeySet, signJwt } from './tokens.ts';

/** CIS2's realm path; the issuer of its ID tokens is the base URL plus this. */
export const CIS2_ISSUER_PATH = '/openam/oauth2/realms/root/realms/oidc';
const CIS2_TOKEN_LIFETIME_SECONDS = 3600;
const CODE_LIFETIME_SECONDS = 60;
const USERINFO_AUDIENCE = 'cis2-userinfo';
const SCOPES = ['openid', 'profile', 'email', 'nhsperson', 'associatedorgs', 'nationalrbacaccess', 'professionalmemberships', 'organisationalmemberships', 'selectedrole'];

/** Names of the national RBAC activity codes the demo roles use. */
const ACTIVITY_NAMES: Record<string, string> = {
  B0570: 'Perform Pharmacy Activities',
  B0572: 'Manage Pharmacy Activities',
  B0068: 'Verify Prescription',
  B0401: 'View Patient Medication',
  B0278: 'Perform Prescription Preparation',
  B0825: 'Amend Patient Demographics',
  B0058: 'Nurse Prescribers Formulary (NPF) Prescribing',
  B0420: 'Independent Prescribing',
};

export type Cis2IdClaims = JWTPayload & { nhsid_useruid: string; selected_roleid: string; name: string; idassurancelevel: string };

type Form = Record<string, string | undefined>;
type Deps = { db: Database; publicBaseUrl: string; organisationName(ods: string): Promise<string | undefined> };

export function registerCis2Provider(app: FastifyInstance, deps: Deps): void {
  const issuer = deps.publicBaseUrl + CIS2_ISSUER_PATH;
  const verifyJwt = createJwtVerifier(deps.db);
  // Discovery, keys and the sign-in are public; userinfo and the token endpoint check their own credentials.
  const open = { config: { access: { public: true as const }, write: false } };

  app.get(`${CIS2_ISSUER_PATH}/.well-known/openid-configuration`, open, async () => ({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/access_token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/connect/jwk_uri`,
    scopes_supported: SCOPES,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['none'],
    claims_supported: ['sub', 'nhsid_useruid', 'name', 'given_name', 'family_name', 'idassurancelevel', 'nhsid_user_orgs', 'nhsid_nrbac_roles', 'selected_roleid'],
  }));

  app.get(`${CIS2_ISSUER_PATH}/connect/jwk_uri`, open, async () => publicKeySet(deps.db));

  app.get(`${CIS2_ISSUER_PATH}/authorize`, open, async (request, reply) =>
    pageReply(reply, async () => {
      const fields = await authorizationRequest(deps.db, request.query as Form);
      return reply.type('text/html; charset=utf-8').send(signInPage(fields, { action: `${issuer}/authorize` }));
    }),
  );

  const signInDecision = { config: { ...open.config, securityDecision: true, interaction: 'sign-in' } };
  app.post(`${CIS2_ISSUER_PATH}/authorize`, signInDecision, async (request, reply) => pageReply(reply, async () => {
    const form = (request.body ?? {}) as Form;
    const fields = await authorizationRequest(deps.db, form);
    const signedIn = await signIn(deps.db, form);
    noteActor({ mode: 'healthcare-worker', userId: form.user_id ?? '', applicationId: fields.client_id, activityCodes: [] });
    if ('error' in signedIn) {
      return reply.status(401).type('text/html; charset=utf-8').send(signInPage(fields, { action: `${issuer}/authorize`, error: signedIn.error, userId: form.user_id ?? '' }));
    }
    const code = randomBytes(24).toString('base64url');
    await insertAuthorizationCode(deps.db, {
      code,
      clientId: fields.client_id,
      userId: signedIn.person.userId,
      selectedRoleId: signedIn.role.roleProfileId,
      redirectUri: fields.redirect_uri,
      codeChallenge: fields.code_challenge,
      scope: fields.scope,
      nonce: fields.nonce || null,
      expiresAt: new Date(Date.now() + CODE_LIFETIME_SECONDS * 1000),
    });
    const target = new URL(fields.redirect_uri);
    target.searchParams.set('code', code);
    if (fields.state) target.searchParams.set('state', fields.state);
    return reply.redirect(target.toString(), 302);
  }));

  app.post(`${CIS2_ISSUER_PATH}/access_token`, { config: { ...open.config, securityDecision: true, interaction: 'token' } }, async (request, reply) =>
    oauthReply(reply, () => exchangeCode(deps.db, issuer, (request.body ?? {}) as Form)),
  );

  app.get(`${CIS2_ISSUER_PATH}/userinfo`, { config: { access: { public: true, ownCredential: 'a CIS2 access token' } } }, async (request, reply) => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    let claims: JWTPayload;
    try {
      claims = await verifyJwt(token ?? '', { issuer, audience: USERINFO_AUDIENCE });
    } catch {
      return reply.status(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'invalid_token', error_description: 'The access token is missing, invalid or expired' });
    }
    return userInfo(deps, claims.sub ?? '', String(claims['selected_roleid']));
  });
}

/** Checks the authorization request's client, redirect URI and PKCE challenge; an unsafe redirect is never followed. */
async function authorizationRequest(db: Database, query: Form): Promise<SignInPageFields> {
  if (query.response_type !== undefined && query.response_type !== 'code') throw invalidRequest("response_type must be 'code'");
  const application = await findApplication(db, query.client_id ?? '');
  if (!application || !application.redirectUris.includes(query.redirect_uri ?? '')) throw invalidRequest('Unknown client_id or a redirect_uri not registered for it');
  if (!query.code_challenge || query.code_challenge_method !== 'S256') throw invalidRequest('PKCE is required: code_challenge with code_challenge_method S256');
  const scope = query.scope ?? 'openid';
  if (!scope.split(' ').includes('openid') || scope.split(' ').some((item) => !SCOPES.includes(item))) throw invalidRequest(`scope must include openid and only: ${SCOPES.join(' ')}`);
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

async function signIn(db: Database, form: Form): Promise<{ person: Person; role: RoleProfile } | { error: string }> {
  const person = await findPerson(db, form.user_id ?? '');
  if (!person || !(await passwordMatches(form.password ?? '', person.passwordHash))) return { error: 'The user ID or password is not right' };
  const roles = (await roleProfilesOf(db, person.userId)).filter((role) => role.active);
  const role = form.role_profile_id ? roles.find((candidate) => candidate.roleProfileId === form.role_profile_id) : roles[0];
  if (!role) return { error: form.role_profile_id ? 'That role profile is not one of yours' : 'You have no active role profile' };
  return { person, role };
}

async function exchangeCode(db: Database, issuer: string, form: Form) {
  if (form.grant_type !== 'authorization_code') throw new OAuthError(400, 'unsupported_grant_type', 'grant_type is invalid');
  if (!form.code || !form.code_verifier || !form.redirect_uri || !form.client_id) throw invalidRequest('code, code_verifier, redirect_uri and client_id are required');
  const code = await takeAuthorizationCode(db, form.code);
  if (!code || code.expiresAt.getTime() < Date.now()) throw invalidGrant('The authorization code is invalid, expired or already used');
  if (code.clientId !== form.client_id || code.redirectUri !== form.redirect_uri) throw invalidGrant('The authorization code was issued to another client or redirect_uri');
  if (createHash('sha256').update(form.code_verifier).digest('base64url') !== code.codeChallenge) throw invalidGrant('code_verifier does not match the code_challenge');
  const person = await findPerson(db, code.userId);
  const claims = {
    nhsid_useruid: code.userId,
    name: person?.name ?? '',
    given_name: person?.givenName ?? undefined,
    family_name: person?.familyName ?? undefined,
    idassurancelevel: '3',
    selected_roleid: code.selectedRoleId,
    acr: 'AAL3_ANY',
    auth_time: Math.floor(Date.now() / 1000),
    ...(code.nonce ? { nonce: code.nonce } : {}),
  };
  const lifetime = { subject: code.userId, lifetimeSeconds: CIS2_TOKEN_LIFETIME_SECONDS };
  return {
    access_token: await signJwt(db, { selected_roleid: code.selectedRoleId, scope: code.scope }, { issuer, audience: USERINFO_AUDIENCE, ...lifetime }),
    id_token: await signJwt(db, claims, { issuer, audience: code.clientId, ...lifetime }),
    token_type: 'Bearer',
    expires_in: CIS2_TOKEN_LIFETIME_SECONDS,
    scope: code.scope,
  };
}

async function userInfo(deps: Deps, userId: string, selectedRoleId: string) {
  const person = await findPerson(deps.db, userId);
  const roles = (await roleProfilesOf(deps.db, userId)).filter((role) => role.active);
  const orgCodes = [...new Set(roles.map((role) => role.orgCode))];
  const orgNames = new Map(await Promise.all(orgCodes.map(async (ods) => [ods, (await deps.organisationName(ods)) ?? ods] as const)));
  return {
    sub: userId,
    nhsid_useruid: userId,
    name: person?.name,
    given_name: person?.givenName,
    family_name: person?.familyName,
    idassurancelevel: '3',
    nhsid_user_orgs: orgCodes.map((ods) => ({ org_code: ods, org_name: orgNames.get(ods) })),
    nhsid_nrbac_roles: roles.map((role) => ({
      person_roleid: role.roleProfileId,
      org_code: role.orgCode,
      role_code: role.roleCode,
      role_name: role.roleName,
      activity_codes: role.activityCodes,
      activities: role.activityCodes.map((code) => ACTIVITY_NAMES[code] ?? code),
    })),
    selected_roleid: selectedRoleId,
  };
}

/** A refused authorization request is shown to the person as a page, never redirected to an unchecked URI. */
async function pageReply(reply: FastifyReply, work: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return reply.status(400).type('text/html; charset=utf-8').send(`<!doctype html><html lang="en"><title>Sign-in request refused</title><h1>Sign-in request refused</h1><p>${escapeHtml(error.description)}</p></html>`);
  }
}
