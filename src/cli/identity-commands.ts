// `openspine token`, `openspine keys rotate` and `openspine identity list`: tokens for trying
// OpenSpine out, signing-key rotation, and the directory of who is who.
import type { Command } from 'commander';
import { findApplication, issueAccessToken, roleProfilesOf, rotateSigningKeys } from '../identity/index.ts';
import type { ConfigInput } from '../platform/config.ts';
import { SYSTEM_ACTOR, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { ADMIN_SCOPE, AUDIT_SCOPE } from '../platform/http/access.ts';
import { databaseOptions, withDatabase } from './shared.ts';

type TokenOptions = ConfigInput & { user?: string; role?: string; app?: string; admin?: boolean; audit?: boolean; lifetime: string };

export function registerIdentityCommands(program: Command): void {
  const token = databaseOptions(program.command('token'))
    .description('print an access token for trying OpenSpine out (the headers to send with it go to stderr)')
    .option('--user <userId>', 'as this healthcare worker (12-digit user id), in their first role profile')
    .option('--role <roleProfileId>', 'with --user: in this role profile (sent as NHSD-Session-URID)')
    .option('--app <applicationId>', 'as this application, application-restricted')
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

  const keys = databaseOptions(program.command('keys').description('manage the keys OpenSpine signs tokens with').command('rotate'))
    .description('start signing with a new key; tokens signed with the old one stay valid until they expire');
  keys.action(async (options: object) => withDatabase(keys, options, async (db) => console.log(`Now signing with key ${await rotateSigningKeys(db)}.`)));
}

async function tokenActor(command: Command, db: Database, options: TokenOptions): Promise<Actor> {
  if (options.user && options.app) command.error('openspine: give --user or --app, not both');
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
