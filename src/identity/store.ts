// The SQL of the identity service: signing keys, people, role profiles, applications, used
// client-assertion ids, authorization codes and patients' NHS login accounts.
import type { JSONWebKeySet, JWK } from 'jose';
import type postgres from 'postgres';
import type { Queryable } from '../platform/db/connect.ts';

export type SigningKeyRow = { kid: string; algorithm: string; privateJwk: JWK; publicJwk: JWK; createdAt: Date; retiredAt: Date | null };

export async function listSigningKeys(db: Queryable): Promise<SigningKeyRow[]> {
  const rows = await db<{ kid: string; algorithm: string; private_jwk: JWK; public_jwk: JWK; created_at: Date; retired_at: Date | null }[]>`
    select kid, algorithm, private_jwk, public_jwk, created_at, retired_at from identity_signing_key order by created_at desc`;
  return rows.map((row) => ({ kid: row.kid, algorithm: row.algorithm, privateJwk: row.private_jwk, publicJwk: row.public_jwk, createdAt: row.created_at, retiredAt: row.retired_at }));
}

export async function insertSigningKey(db: Queryable, key: Omit<SigningKeyRow, 'retiredAt' | 'createdAt'>): Promise<void> {
  await db`insert into identity_signing_key (kid, algorithm, private_jwk, public_jwk)
           values (${key.kid}, ${key.algorithm}, ${json(db, key.privateJwk)}, ${json(db, key.publicJwk)})`;
}

/** Stops every active key signing; they keep verifying the tokens they signed until those expire. */
export async function retireSigningKeys(db: Queryable): Promise<number> {
  const rows = await db`update identity_signing_key set retired_at = now() where retired_at is null returning kid`;
  return rows.length;
}

export type Person = { userId: string; name: string; givenName: string | null; familyName: string | null; passwordHash: string | null };

export async function upsertPerson(db: Queryable, person: Person): Promise<void> {
  await db`insert into identity_person (user_id, name, given_name, family_name, password_hash)
           values (${person.userId}, ${person.name}, ${person.givenName}, ${person.familyName}, ${person.passwordHash})
           on conflict (user_id) do update set name = excluded.name, given_name = excluded.given_name,
             family_name = excluded.family_name, password_hash = coalesce(excluded.password_hash, identity_person.password_hash)`;
}

type PersonRow = { user_id: string; name: string; given_name: string | null; family_name: string | null; password_hash: string | null };
const toPerson = (row: PersonRow): Person => ({ userId: row.user_id, name: row.name, givenName: row.given_name, familyName: row.family_name, passwordHash: row.password_hash });

export async function findPerson(db: Queryable, userId: string): Promise<Person | undefined> {
  const [row] = await db<PersonRow[]>`select user_id, name, given_name, family_name, password_hash from identity_person where user_id = ${userId}`;
  return row && toPerson(row);
}

export async function listPeople(db: Queryable): Promise<Person[]> {
  const rows = await db<PersonRow[]>`select user_id, name, given_name, family_name, password_hash from identity_person order by user_id`;
  return rows.map(toPerson);
}

export type RoleProfile = { roleProfileId: string; userId: string; orgCode: string; roleCode: string; roleName: string; activityCodes: string[]; active: boolean };

type RoleProfileRow = { role_profile_id: string; user_id: string; org_code: string; role_code: string; role_name: string; activity_codes: string[]; active: boolean };
const toRoleProfile = (row: RoleProfileRow): RoleProfile => ({
  roleProfileId: row.role_profile_id,
  userId: row.user_id,
  orgCode: row.org_code,
  roleCode: row.role_code,
  roleName: row.role_name,
  activityCodes: row.activity_codes,
  active: row.active,
});

export async function upsertRoleProfile(db: Queryable, profile: RoleProfile): Promise<void> {
  await db`insert into identity_role_profile (role_profile_id, user_id, org_code, role_code, role_name, activity_codes, active)
           values (${profile.roleProfileId}, ${profile.userId}, ${profile.orgCode}, ${profile.roleCode}, ${profile.roleName}, ${profile.activityCodes}, ${profile.active})
           on conflict (role_profile_id) do update set user_id = excluded.user_id, org_code = excluded.org_code, role_code = excluded.role_code,
             role_name = excluded.role_name, activity_codes = excluded.activity_codes, active = excluded.active`;
}

export async function roleProfilesOf(db: Queryable, userId: string): Promise<RoleProfile[]> {
  const rows = await db<RoleProfileRow[]>`
    select role_profile_id, user_id, org_code, role_code, role_name, activity_codes, active
    from identity_role_profile where user_id = ${userId} order by role_profile_id`;
  return rows.map(toRoleProfile);
}

export type Application = { applicationId: string; name: string; jwks: JSONWebKeySet; accessModes: string[]; redirectUris: string[]; rateLimitPerSecond: number };

type ApplicationRow = { application_id: string; name: string; jwks: JSONWebKeySet; access_modes: string[]; redirect_uris: string[]; rate_limit_per_second: number };
const toApplication = (row: ApplicationRow): Application => ({
  applicationId: row.application_id,
  name: row.name,
  jwks: row.jwks,
  accessModes: row.access_modes,
  redirectUris: row.redirect_uris,
  rateLimitPerSecond: row.rate_limit_per_second,
});

export async function upsertApplication(db: Queryable, application: Application): Promise<void> {
  await db`insert into identity_application (application_id, name, jwks, access_modes, redirect_uris, rate_limit_per_second)
           values (${application.applicationId}, ${application.name}, ${json(db, application.jwks)}, ${application.accessModes}, ${application.redirectUris}, ${application.rateLimitPerSecond})
           on conflict (application_id) do update set name = excluded.name, jwks = excluded.jwks, access_modes = excluded.access_modes,
             redirect_uris = excluded.redirect_uris, rate_limit_per_second = excluded.rate_limit_per_second`;
}

export async function findApplication(db: Queryable, applicationId: string): Promise<Application | undefined> {
  const [row] = await db<ApplicationRow[]>`
    select application_id, name, jwks, access_modes, redirect_uris, rate_limit_per_second from identity_application where application_id = ${applicationId}`;
  return row && toApplication(row);
}

export async function listApplications(db: Queryable): Promise<Application[]> {
  const rows = await db<ApplicationRow[]>`
    select application_id, name, jwks, access_modes, redirect_uris, rate_limit_per_second from identity_application order by application_id`;
  return rows.map(toApplication);
}

/** Records a client assertion's jti; false when it was used before (a replay). Old ones are swept here too. */
export async function useJti(db: Queryable, applicationId: string, jti: string, expiresAt: Date): Promise<boolean> {
  const rows = await db`insert into identity_used_jti (application_id, jti, expires_at) values (${applicationId}, ${jti}, ${expiresAt})
                        on conflict do nothing returning jti`;
  await db`delete from identity_used_jti where expires_at < now() - interval '1 minute'`;
  return rows.length === 1;
}

/** Who signed in for an authorization code: staff in a role profile (CIS2), or a patient's NHS login account. */
export type CodeSubject = { kind: 'staff'; userId: string; selectedRoleId: string } | { kind: 'patient'; accountId: string };

export type AuthorizationCode = {
  code: string;
  clientId: string;
  subject: CodeSubject;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  nonce: string | null;
  expiresAt: Date;
};

export async function insertAuthorizationCode(db: Queryable, code: AuthorizationCode): Promise<void> {
  const staff = code.subject.kind === 'staff' ? code.subject : undefined;
  const patient = code.subject.kind === 'patient' ? code.subject : undefined;
  await db`insert into identity_authorization_code (code, client_id, user_id, selected_role_id, nhs_login_sub, redirect_uri, code_challenge, scope, nonce, expires_at)
           values (${code.code}, ${code.clientId}, ${staff?.userId ?? null}, ${staff?.selectedRoleId ?? null}, ${patient?.accountId ?? null},
                   ${code.redirectUri}, ${code.codeChallenge}, ${code.scope}, ${code.nonce}, ${code.expiresAt})`;
}

type AuthorizationCodeRow = {
  code: string;
  client_id: string;
  user_id: string | null;
  selected_role_id: string | null;
  nhs_login_sub: string | null;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  nonce: string | null;
  expires_at: Date;
};

/** Takes a code: marks it used and returns it, once; a second take returns nothing. */
/**
 * Takes a code, once: with the ids of the tokens its redemption will issue, kept in the same
 * statement, so that a second presentation at any moment after finds them to revoke.
 */
export async function takeAuthorizationCode(db: Queryable, code: string, tokenIds: string[]): Promise<AuthorizationCode | undefined> {
  const [row] = await db<AuthorizationCodeRow[]>`
    update identity_authorization_code set used_at = now(), issued_token_ids = ${tokenIds} where code = ${code} and used_at is null
    returning code, client_id, user_id, selected_role_id, nhs_login_sub, redirect_uri, code_challenge, scope, nonce, expires_at`;
  return row && {
    code: row.code,
    clientId: row.client_id,
    subject: row.nhs_login_sub !== null ? { kind: 'patient', accountId: row.nhs_login_sub } : { kind: 'staff', userId: row.user_id ?? '', selectedRoleId: row.selected_role_id ?? '' },
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    scope: row.scope,
    nonce: row.nonce,
    expiresAt: row.expires_at,
  };
}

/**
 * A code presented again after its redemption: the tokens that redemption issued are revoked, until
 * they would have expired (revocations past that are deleted meanwhile). True when the code had
 * been redeemed (its tokens, if any, are now revoked).
 */
export async function revokeTokensOfReusedCode(db: Queryable, code: string, lifetimeSeconds: number): Promise<boolean> {
  const [row] = await db<{ reused: boolean }[]>`
    with reused as (select issued_token_ids from identity_authorization_code where code = ${code} and used_at is not null),
    forgotten as (delete from identity_revoked_token where expires_at <= now()),
    revoked as (
      insert into identity_revoked_token (jti, expires_at)
      select unnest(issued_token_ids), now() + make_interval(secs => ${lifetimeSeconds}) from reused
      on conflict (jti) do nothing
    )
    select exists (select from reused) as reused`;
  return row?.reused === true;
}

/** Whether a token of ours was revoked (its code was presented again). */
export async function isTokenRevoked(db: Queryable, jti: string): Promise<boolean> {
  const [row] = await db`select 1 from identity_revoked_token where jti = ${jti} and expires_at > now()`;
  return row !== undefined;
}

/** A patient's account at the NHS login-shaped provider, with the claims NHS login gives about them. */
export type NhsLoginAccount = {
  sub: string;
  email: string;
  passwordHash: string;
  identityProofingLevel: 'P0' | 'P5' | 'P9';
  nhsNumber: string | null;
  givenName: string | null;
  familyName: string | null;
  birthdate: string | null;
  phoneNumber: string | null;
};

type NhsLoginAccountRow = {
  sub: string;
  email: string;
  password_hash: string;
  identity_proofing_level: NhsLoginAccount['identityProofingLevel'];
  nhs_number: string | null;
  given_name: string | null;
  family_name: string | null;
  birthdate: string | null;
  phone_number: string | null;
};
const toNhsLoginAccount = (row: NhsLoginAccountRow): NhsLoginAccount => ({
  sub: row.sub,
  email: row.email,
  passwordHash: row.password_hash,
  identityProofingLevel: row.identity_proofing_level,
  nhsNumber: row.nhs_number,
  givenName: row.given_name,
  familyName: row.family_name,
  birthdate: row.birthdate,
  phoneNumber: row.phone_number,
});

export async function insertNhsLoginAccount(db: Queryable, account: NhsLoginAccount): Promise<void> {
  await db`insert into identity_nhs_login_account (sub, email, password_hash, identity_proofing_level, nhs_number, given_name, family_name, birthdate, phone_number)
           values (${account.sub}, ${account.email.toLowerCase()}, ${account.passwordHash}, ${account.identityProofingLevel}, ${account.nhsNumber},
                   ${account.givenName}, ${account.familyName}, ${account.birthdate}, ${account.phoneNumber})`;
}

export async function findNhsLoginAccount(db: Queryable, by: { sub: string } | { email: string }): Promise<NhsLoginAccount | undefined> {
  const [row] = await db<NhsLoginAccountRow[]>`
    select sub, email, password_hash, identity_proofing_level, nhs_number, given_name, family_name, to_char(birthdate, 'YYYY-MM-DD') as birthdate, phone_number
    from identity_nhs_login_account where ${'sub' in by ? db`sub = ${by.sub}` : db`email = ${by.email.toLowerCase()}`}`;
  return row && toNhsLoginAccount(row);
}

export async function listNhsLoginAccounts(db: Queryable): Promise<NhsLoginAccount[]> {
  const rows = await db<NhsLoginAccountRow[]>`
    select sub, email, password_hash, identity_proofing_level, nhs_number, given_name, family_name, to_char(birthdate, 'YYYY-MM-DD') as birthdate, phone_number
    from identity_nhs_login_account order by email`;
  return rows.map(toNhsLoginAccount);
}

function json(db: Queryable, value: unknown): postgres.Parameter {
  return db.json(value as postgres.JSONValue);
}
