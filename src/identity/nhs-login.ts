// An OpenID Connect provider for patients, shaped like NHS login: discovery, JWKS, the
// authorization code flow with PKCE and a sign-in page by email and password, and an ID token and
// userinfo carrying nhs_number, identity_proofing_level (P0, P5, P9), vot and vtm as NHS login's
// interface specification (sections 3.3, 3.6 and 4.2) and its scopes-and-claims page describe.
// The demo asks for no second factor, though vot says Cp.Cd (password and a security code) as
// NHS login's own tokens do.
import type { FastifyInstance } from 'fastify';
import type { JWTPayload } from 'jose';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import type { Form } from './form.ts';
import { registerOidcProvider, type SignInResult } from './oidc-provider.ts';
import { attemptSignIn } from './sign-in-attempts.ts';
import { passwordMatches } from './passwords.ts';
import type { SignInForm } from './sign-in-page.ts';
import { findNhsLoginAccount, type CodeSubject, type NhsLoginAccount } from './store.ts';

/** NHS login is its own host (auth.login.nhs.uk); here it is a path, and its issuer is the base URL plus this. */
export const NHS_LOGIN_ISSUER_PATH = '/nhs-login';
const NHS_LOGIN_TOKEN_LIFETIME_SECONDS = 3600;
export const NHS_LOGIN_USERINFO_AUDIENCE = 'nhs-login-userinfo';
const SCOPES = ['openid', 'profile', 'basic_demographics', 'profile_extended', 'email', 'phone'];

/** The claims of an NHS login ID token that the API platform's token exchange reads. */
export type NhsLoginIdClaims = JWTPayload & { identity_proofing_level?: string; nhs_number?: string; vot?: string };

type PatientSubject = Extract<CodeSubject, { kind: 'patient' }>;

const SIGN_IN_FORM: SignInForm = {
  service: 'NHS login (OpenSpine)',
  inputs: [
    { name: 'email', label: 'Email address', type: 'email', autocomplete: 'email', keep: true },
    { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
  ],
};

export function registerNhsLoginProvider(app: FastifyInstance, deps: { db: Database; publicBaseUrl: string }): void {
  const issuer = deps.publicBaseUrl + NHS_LOGIN_ISSUER_PATH;
  // NHS login's trustmark: https://auth.login.nhs.uk/trustmark/auth.login.nhs.uk
  const vtm = `${issuer}/trustmark/${new URL(deps.publicBaseUrl).host}`;
  registerOidcProvider<PatientSubject>(app, deps.db, deps.publicBaseUrl, {
    issuerPath: NHS_LOGIN_ISSUER_PATH,
    paths: { authorize: '/authorize', token: '/token', userinfo: '/userinfo', jwks: '/.well-known/jwks.json' },
    accessTokenName: 'an NHS login access token',
    scopes: SCOPES,
    claimsSupported: ['iss', 'aud', 'sub', 'vot', 'vtm', 'nhs_number', 'identity_proofing_level', 'birthdate', 'family_name', 'given_name', 'email', 'email_verified', 'phone_number', 'phone_number_verified'],
    subjectKind: 'patient',
    tokenLifetimeSeconds: NHS_LOGIN_TOKEN_LIFETIME_SECONDS,
    userinfoAudience: NHS_LOGIN_USERINFO_AUDIENCE,
    form: SIGN_IN_FORM,
    signIn: (form, clientId, address) => signIn(deps.db, form, { clientId, address }),
    async tokenClaims(subject, code) {
      const account = await findNhsLoginAccount(deps.db, { sub: subject.accountId });
      if (!account) throw new Error(`the NHS login account ${subject.accountId} of an authorization code is gone`);
      const level = account.identityProofingLevel;
      const idClaims = { auth_time: Math.floor(Date.now() / 1000), vot: `${level}.Cp.Cd`, vtm, token_use: 'id', ...profileClaims(account, code.scope.split(' ')) };
      return { sub: account.sub, idClaims, accessClaims: {}, actor: patientActor(code.clientId, account) };
    },
    async userInfo(claims) {
      const account = await findNhsLoginAccount(deps.db, { sub: claims.sub ?? '' });
      const scopes = typeof claims['scope'] === 'string' ? claims['scope'].split(' ') : [];
      const answer = { iss: issuer, sub: claims.sub, ...(account ? { ...profileClaims(account, scopes), ...contactClaims(account, scopes) } : {}) };
      return { claims: answer, actor: patientActor(claims.client_id, account) };
    },
  });
}

async function signIn(db: Database, form: Form, from: { clientId: string; address: string }): Promise<SignInResult<PatientSubject>> {
  const { clientId } = from;
  const email = (form.email ?? '').toLowerCase();
  const attempt = await attemptSignIn(db, { account: `nhs-login:${email}`, address: from.address }, 'The email address or password is not right', async () => {
    const found = await findNhsLoginAccount(db, { email });
    return (await passwordMatches(form.password ?? '', found?.passwordHash)) ? found : undefined;
  });
  if (!('found' in attempt)) return { ...attempt, actor: patientActor(clientId, undefined) };
  const account = attempt.found;
  return { subject: { kind: 'patient', accountId: account.sub }, actor: patientActor(clientId, account) };
}

/** A patient as the audit trail records them: by their NHS number, when their account has one. */
function patientActor(applicationId: string | undefined, account: NhsLoginAccount | undefined): Actor {
  return { mode: 'patient', activityCodes: [], ...(applicationId ? { applicationId } : {}), ...(account?.nhsNumber ? { userId: account.nhsNumber } : {}) };
}

/**
 * The claims of the profile scopes, by the account's level: a P0 account has only its level;
 * P5 and P9 add the NHS number, family name and birth date traced on PDS (and the given name
 * with profile_extended). NHS login's scopes-and-claims table.
 */
function profileClaims(account: NhsLoginAccount, scopes: string[]): Record<string, string> {
  const profile = scopes.includes('profile');
  if (!profile && !scopes.includes('basic_demographics')) return {};
  const claims: Record<string, string> = { identity_proofing_level: account.identityProofingLevel };
  if (account.identityProofingLevel === 'P0') return claims;
  if (profile && account.nhsNumber) claims['nhs_number'] = account.nhsNumber;
  if (account.familyName) claims['family_name'] = account.familyName;
  if (account.birthdate) claims['birthdate'] = account.birthdate;
  if (scopes.includes('profile_extended') && account.givenName) claims['given_name'] = account.givenName;
  return claims;
}

function contactClaims(account: NhsLoginAccount, scopes: string[]): Record<string, string | boolean> {
  return {
    ...(scopes.includes('email') ? { email: account.email, email_verified: true } : {}),
    ...(scopes.includes('phone') && account.phoneNumber ? { phone_number: account.phoneNumber, phone_number_verified: true } : {}),
  };
}
