// `openspine token`, `openspine client-assertion`, `openspine keys rotate` and `openspine identity …`:
// tokens and client assertions for trying OpenSpine out, signing-key rotation, and the directory
// of who is who.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet, JWK } from 'jose';
import {
  addApplicationKey,
  findApplication,
  issueAccessToken,
  listApplications,
  listNhsLoginAccounts,
  listPeople,
  roleProfilesOf,
  rotateSigningKeys,
  saveApplication,
  savePerson,
  saveRoleProfile,
  signClientAssertion,
  TOKEN_PATH,
} from '../identity/index.ts';
import type { ConfigInput } from '../platform/config.ts';
import { SYSTEM_ACTOR, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { ADMIN_SCOPE, AUDIT_SCOPE } from '../platform/http/access.ts';
import { isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { configFrom, databaseOptions, withDatabase } from './shared.ts';

type TokenOptions = ConfigInput & { user?: string; role?: string; app?: string; patient?: string; admin?: boolean; audit?: boolean; lifetime: string };

export function registerIdentityCommands(program: Command): void {
  const token = databaseOptions(program.command('token'))
    .description('print an access token for trying OpenSpine out (the headers to send with it go to stderr)')
    .option('--user <userId>', 'as this healthcare worker (12-digit user id), in their first role profile')
    .option('--role <roleProfileId>', 'with --user: in this role profile (sent as NHSD-Session-URID)')
    .option('--app <applicationId>', 'as this application, application-restricted')
    .option('--patient <nhsNumber>', 'as this patient (patient access, as NHS login at P9 gives): their own record only')
    .option('--admin', `carry the ${ADMIN_SCOPE} scope (administration)`)
    .option('--audit', `carry the ${AUDIT_SCOPE} scope (searching the audit trail)`)
    .option('--lifetime <seconds>', 'lifetime in seconds (1 to 86400)', '599');
  token.action(async (options: TokenOptions) =>
    withDatabase(token, options, async (db) => {
      const lifetimeSeconds = Number(options.lifetime);
      if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > 86_400) token.error('openspine: --lifetime must be 1 to 86400 seconds');
      const actor = await tokenActor(token, db, options);
      const scopes = [...(options.admin ? [ADMIN_SCOPE] : []), ...(options.audit ? [AUDIT_SCOPE] : [])];
      const { accessToken } = await issueAccessToken(db, { actor, scopes, lifetimeSeconds });
      console.log(accessToken);
      console.error(`Send: Authorization: Bearer <the token above>${actor.roleProfileId ? `\n      NHSD-Session-URID: ${actor.roleProfileId}` : ''}`);
    }),
  );

  const assertion = program
    .command('client-assertion')
    .description("print a client assertion for the token endpoint, signed with a key from 'identity app-key'")
    .requiredOption('--app <apiKey>', 'the application (iss and sub)')
    .requiredOption('--key <file>', 'its private key, as a JWK file')
    .option('--aud <url>', `the token endpoint (default: the public base URL + ${TOKEN_PATH})`);
  assertion.action(async (options: { app: string; key: string; aud?: string }) => {
    const privateJwk = JSON.parse(await readFile(options.key, 'utf8')) as JWK;
    if (privateJwk.d === undefined || !privateJwk.kid) assertion.error('openspine: --key must hold a private key with a kid');
    console.log(await signClientAssertion(privateJwk, options.app, options.aud ?? configFrom(assertion, {}).publicBaseUrl + TOKEN_PATH));
  });

  const keys = databaseOptions(program.command('keys').description('manage the keys OpenSpine signs tokens with').command('rotate'))
    .description('start signing with a new key; tokens signed with the old one stay valid until they expire');
  keys.action(async (options: object) => withDatabase(keys, options, async (db) => console.log(`Now signing with key ${await rotateSigningKeys(db)}.`)));

  const identity = program.command('identity').description('the directory of who is who: people, role profiles, applications');
  const list = databaseOptions(identity.command('list')).description('list people with their role profiles, and applications');
  list.action(async (options: ConfigInput) =>
    withDatabase(list, options, async (db) => {
      for (const person of await listPeople(db)) {
        console.log(`${person.userId}  ${person.name}`);
        for (const role of await roleProfilesOf(db, person.userId)) {
          console.log(`    role profile ${role.roleProfileId} at ${role.orgCode}  ${role.roleCode}  ${role.activityCodes.join(' ')}${role.active ? '' : '  (inactive)'}`);
        }
      }
      for (const application of await listApplications(db)) {
        console.log(`application ${application.applicationId}  ${application.name}  modes: ${application.accessModes.join(', ')}  ${application.rateLimitPerSecond}/s  keys: ${application.jwks.keys.length}`);
      }
      for (const account of await listNhsLoginAccounts(db)) {
        console.log(`NHS login ${account.email}  ${account.identityProofingLevel}  NHS number ${account.nhsNumber ?? '(none)'}`);
      }
    }),
  );

  const appKey = databaseOptions(identity.command('app-key'))
    .description("give an application a new signing key: the public half joins its JWKS, the private half (a JWK) is printed, for 'client-assertion'")
    .requiredOption('--id <apiKey>', 'the application');
  appKey.action(async (options: ConfigInput & { id: string }) =>
    withDatabase(appKey, options, async (db) => {
      const privateJwk = await addApplicationKey(db, options.id);
      if (!privateJwk) appKey.error(`openspine: no application ${options.id}; see 'openspine identity list'`);
      console.log(JSON.stringify(privateJwk));
      console.error(`The public key ${privateJwk?.kid ?? ''} is registered for ${options.id}; keep the private key above to yourself.`);
    }),
  );

  const addPerson = databaseOptions(identity.command('add-person'))
    .description('add a person (or change one) who can be given role profiles')
    .requiredOption('--user-id <id>', 'their 12-digit NHS user id')
    .requiredOption('--name <name>', 'as CIS2 shows it, e.g. "PATEL Asha Dr"')
    .option('--given-name <name>', 'given name')
    .option('--family-name <name>', 'family name')
    .option('--password <password>', 'for the sign-in page (at least 8 characters); without it they cannot sign in with a password');
  addPerson.action(async (options: ConfigInput & { userId: string; name: string; givenName?: string; familyName?: string; password?: string }) =>
    withDatabase(addPerson, options, async (db) => {
      if (options.password !== undefined && options.password.length < 8) addPerson.error('openspine: --password must be at least 8 characters');
      await savePerson(db, options);
      console.log(`Person ${options.userId} is saved.`);
    }),
  );

  const addRole = databaseOptions(identity.command('add-role'))
    .description("give a person a role profile in an organisation, with the national RBAC activities it grants")
    .requiredOption('--role-profile-id <id>', 'the 12-digit role profile id (what NHSD-Session-URID names)')
    .requiredOption('--user-id <id>', 'whose role it is')
    .requiredOption('--org <ods>', 'the organisation, by ODS code')
    .requiredOption('--role-code <code>', 'the job role as S..:G..:R.., e.g. S8000:G8000:R8000')
    .requiredOption('--role-name <name>', 'what the role is called')
    .option('--activities <codes>', 'comma-separated activity codes, e.g. B0570,B0572', '')
    .option('--inactive', 'record it as no longer active');
  addRole.action(async (options: ConfigInput & { roleProfileId: string; userId: string; org: string; roleCode: string; roleName: string; activities: string; inactive?: boolean }) =>
    withDatabase(addRole, options, async (db) => {
      const activityCodes = options.activities ? options.activities.split(',').map((code) => code.trim()) : [];
      if (!/^\d{12}$/.test(options.roleProfileId)) addRole.error('openspine: --role-profile-id must be 12 digits');
      if (!/^S\d+:G\d+:R\d+$/.test(options.roleCode)) addRole.error('openspine: --role-code must look like S8000:G8000:R8000');
      if (activityCodes.some((code) => !/^B\d{4}$/.test(code))) addRole.error('openspine: --activities must be codes like B0570');
      await saveRoleProfile(db, { roleProfileId: options.roleProfileId, userId: options.userId, orgCode: options.org.toUpperCase(), roleCode: options.roleCode, roleName: options.roleName, activityCodes, active: !options.inactive });
      console.log(`Role profile ${options.roleProfileId} is saved.`);
    }),
  );

  const addApplication = databaseOptions(identity.command('add-app'))
    .description('register an application (or change one): its API key, the public keys of its client assertions, its access modes')
    .requiredOption('--id <apiKey>', 'the API key (8 to 128 letters, digits, dots, dashes or underscores)')
    .requiredOption('--name <name>', 'what the application is')
    .requiredOption('--jwks <file>', 'a JSON file holding the public keys as a JWKS: {"keys": [...]}')
    .option('--modes <list>', 'access modes: application-restricted, healthcare-worker, patient', 'application-restricted')
    .option('--redirect-uris <list>', 'comma-separated redirect URIs for staff sign-in', '')
    .option('--rate-limit <perSecond>', 'requests a second', '5');
  addApplication.action(async (options: ConfigInput & { id: string; name: string; jwks: string; modes: string; redirectUris: string; rateLimit: string }) =>
    withDatabase(addApplication, options, async (db) => {
      const accessModes = options.modes.split(',').map((mode) => mode.trim());
      const jwks = JSON.parse(await readFile(options.jwks, 'utf8')) as JSONWebKeySet;
      const redirectUris = options.redirectUris ? options.redirectUris.split(',').map((uri) => uri.trim()) : [];
      await saveApplication(db, { applicationId: options.id, name: options.name, jwks, accessModes, redirectUris, rateLimitPerSecond: Number(options.rateLimit) });
      console.log(`Application ${options.id} is registered.`);
    }),
  );
}

async function tokenActor(command: Command, db: Database, options: TokenOptions): Promise<Actor> {
  if ([options.user, options.app, options.patient].filter(Boolean).length > 1) command.error('openspine: give one of --user, --app and --patient');
  if (options.patient) {
    if (!isValidNhsNumber(options.patient)) command.error(`openspine: ${options.patient} is not a valid NHS number`);
    return { mode: 'patient', userId: options.patient, activityCodes: [] };
  }
  if (options.user) {
    const profiles = (await roleProfilesOf(db, options.user)).filter((profile) => profile.active);
    const profile = options.role ? profiles.find((candidate) => candidate.roleProfileId === options.role) : profiles[0];
    if (!profile) command.error(`openspine: ${options.user} has no active role profile ${options.role ?? ''}; see 'openspine identity list'`);
    return { mode: 'healthcare-worker', userId: options.user, roleProfileId: profile?.roleProfileId ?? '', activityCodes: [] };
  }
  if (options.app) {
    const application = await findApplication(db, options.app);
    if (!application?.accessModes.includes('application-restricted')) command.error(`openspine: ${options.app} is not an application allowed application-restricted access`);
    return { mode: 'application-restricted', applicationId: options.app, activityCodes: [] };
  }
  return SYSTEM_ACTOR;
}
