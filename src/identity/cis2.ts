// An OpenID Connect provider for staff, shaped like NHS CIS2: discovery, JWKS, the authorization
// code flow with PKCE and a sign-in page, an ID token and userinfo carrying nhsid_useruid,
// nhsid_nrbac_roles and selected_roleid. ../shared/specs/README.md section 6 (CIS2 OIDC).
import type { FastifyInstance } from 'fastify';
import type { JWTPayload } from 'jose';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import type { Form } from './form.ts';
import { registerOidcProvider, type SignInResult } from './oidc-provider.ts';
import { attemptSignIn } from './sign-in-attempts.ts';
import { passwordMatches } from './passwords.ts';
import type { SignInForm } from './sign-in-page.ts';
import { findPerson, roleProfilesOf, type CodeSubject } from './store.ts';

/** CIS2's realm path; the issuer of its ID tokens is the base URL plus this. */
export const CIS2_ISSUER_PATH = '/openam/oauth2/realms/root/realms/oidc';
const CIS2_TOKEN_LIFETIME_SECONDS = 3600;
export const CIS2_USERINFO_AUDIENCE = 'cis2-userinfo';
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

type StaffSubject = Extract<CodeSubject, { kind: 'staff' }>;
type Deps = { db: Database; publicBaseUrl: string; organisationName(ods: string): Promise<string | undefined> };

export function registerCis2Provider(app: FastifyInstance, deps: Deps): void {
  registerOidcProvider<StaffSubject>(app, deps.db, deps.publicBaseUrl, {
    issuerPath: CIS2_ISSUER_PATH,
    paths: { authorize: '/authorize', token: '/access_token', userinfo: '/userinfo', jwks: '/connect/jwk_uri' },
    accessTokenName: 'a CIS2 access token',
    scopes: SCOPES,
    claimsSupported: ['sub', 'nhsid_useruid', 'name', 'given_name', 'family_name', 'idassurancelevel', 'nhsid_user_orgs', 'nhsid_nrbac_roles', 'selected_roleid'],
    subjectKind: 'staff',
    tokenLifetimeSeconds: CIS2_TOKEN_LIFETIME_SECONDS,
    userinfoAudience: CIS2_USERINFO_AUDIENCE,
    form: SIGN_IN_FORM,
    signIn: (form, clientId, address) => signIn(deps.db, form, { clientId, address }),
    tokenClaims: (subject, code) => tokenClaims(deps.db, subject, code.clientId),
    userInfo: async (claims) => {
      const userId = claims.sub ?? '';
      const selectedRoleId = String(claims['selected_roleid']);
      return { claims: await userInfo(deps, userId, selectedRoleId), actor: staffActor(userId, selectedRoleId, claims.client_id) };
    },
  });
}

const SIGN_IN_FORM: SignInForm = {
  service: 'OpenSpine Care Identity Service',
  inputs: [
    { name: 'user_id', label: 'User ID', type: 'text', hint: 'Your 12-digit NHS user ID', inputmode: 'numeric', autocomplete: 'username', keep: true },
    { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
    { name: 'role_profile_id', label: 'Role profile (optional)', type: 'text', hint: 'Leave empty to use your first role', inputmode: 'numeric' },
  ],
};

async function signIn(db: Database, form: Form, from: { clientId: string; address: string }): Promise<SignInResult<StaffSubject>> {
  const actor: Actor = { mode: 'healthcare-worker', userId: form.user_id ?? '', applicationId: from.clientId, activityCodes: [] };
  const attempt = await attemptSignIn(db, { account: `cis2:${form.user_id ?? ''}`, address: from.address }, 'The user ID or password is not right', async () => {
    const found = await findPerson(db, form.user_id ?? '');
    return (await passwordMatches(form.password ?? '', found?.passwordHash)) ? found : undefined;
  });
  if (!('found' in attempt)) return { ...attempt, actor };
  const person = attempt.found;
  const roles = (await roleProfilesOf(db, person.userId)).filter((role) => role.active);
  const role = form.role_profile_id ? roles.find((candidate) => candidate.roleProfileId === form.role_profile_id) : roles[0];
  if (!role) return { error: form.role_profile_id ? 'That role profile is not one of yours' : 'You have no active role profile', actor };
  return { subject: { kind: 'staff', userId: person.userId, selectedRoleId: role.roleProfileId }, actor };
}

function staffActor(userId: string, roleProfileId: string, applicationId: string | undefined): Actor {
  return { mode: 'healthcare-worker', userId, roleProfileId, activityCodes: [], ...(applicationId ? { applicationId } : {}) };
}

async function tokenClaims(db: Database, subject: StaffSubject, clientId: string) {
  const person = await findPerson(db, subject.userId);
  const idClaims = {
    nhsid_useruid: subject.userId,
    name: person?.name ?? '',
    given_name: person?.givenName ?? undefined,
    family_name: person?.familyName ?? undefined,
    idassurancelevel: '3',
    selected_roleid: subject.selectedRoleId,
    acr: 'AAL3_ANY',
    auth_time: Math.floor(Date.now() / 1000),
  };
  const actor = staffActor(subject.userId, subject.selectedRoleId, clientId);
  return { sub: subject.userId, idClaims, accessClaims: { selected_roleid: subject.selectedRoleId }, actor };
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
