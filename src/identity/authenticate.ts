// The authenticator behind every request's access decision: verifies the access token, applies the
// application's rate limit, and for a healthcare worker picks the role profile named by
// NHSD-Session-URID (one of the user's own) in the organisation of NHSD-End-User-Organisation-ODS.
import type { IncomingHttpHeaders } from 'node:http';
import { noteActor, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import type { Authenticator, TokenGrant } from '../platform/http/access.ts';
import { createRateLimiter } from './rate-limit.ts';
import { findApplication, roleProfilesOf, type Application, type RoleProfile } from './store.ts';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, createJwtVerifier, type AccessClaims } from './tokens.ts';

/** Where every process hears that a role profile or an application changed (migration 0029). */
const CHANGES_CHANNEL = 'openspine_identity';
/** Tokens longer than this are refused unread (a JWT of ours is about 700 characters). */
const MAX_TOKEN_LENGTH = 4096;
/**
 * How long verified tokens, role profiles and applications are kept in memory. A change of a role
 * profile or an application is heard at once (CHANGES_CHANNEL); this bounds what a missed notice costs.
 */
const CACHE_SECONDS = 10;
const CACHE_LIMIT = 10_000;
const URID = /^\d{1,20}$/;
/** Characters of a token's end that its cache entry is found by. */
const TOKEN_KEY_LENGTH = 32;

/**
 * `processes`: how many OpenSpine processes share the applications' rate limits (src/platform/cluster.ts).
 * Listens for changes of role profiles and applications on a connection of its own until `db` ends.
 */
export async function createAuthenticator(db: Database, options: { processes?: () => number } = {}): Promise<Authenticator> {
  const verifyJwt = createJwtVerifier(db);
  const limiter = createRateLimiter(options.processes ? { processes: options.processes } : {});
  const tokens = cache<{ token: string; claims: AccessClaims }>();
  const profiles = cache<RoleProfile[]>();
  /** null: no such application (known for as long as the rest). */
  const applications = cache<Application | null>();
  const forget = (notice: string) => {
    const [kind, key = ''] = splitOnce(notice, ':');
    if (kind === 'role-profiles') profiles.forget(key);
    else if (kind === 'application') applications.forget(key);
  };
  // On (re)connecting, notices may have been missed meanwhile: everything kept is forgotten.
  await db.listen(CHANGES_CHANNEL, forget, () => {
    profiles.clear();
    applications.clear();
  });

  return async (token, headers) => {
    if (token.length > MAX_TOKEN_LENGTH) throw Errors.unauthenticated('Invalid access token');
    const verify = async () => {
      try {
        return (await verifyJwt(token, { issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE })) as AccessClaims;
      } catch {
        throw Errors.unauthenticated('Invalid access token');
      }
    };
    // Kept by the end of the signature: hashing a whole token (some 700 characters) as a map key on
    // every request cost more than the rest of this check. Another token with the same ending (a
    // forgery reusing a signature) is not the one kept, so it is verified in full.
    const tokenKey = token.slice(-TOKEN_KEY_LENGTH);
    const verified = tokens.fresh(tokenKey) ?? (await tokens.load(tokenKey, async () => ({ token, claims: await verify() })));
    const claims = verified.token === token ? verified.claims : await verify();
    if ((claims.exp ?? 0) * 1000 <= Date.now()) throw Errors.unauthenticated('Access token expired');
    const actor: Actor = { mode: claims.mode, activityCodes: [] };
    let application: Application | null | undefined;
    if (claims.app) {
      const appId = claims.app;
      application = applications.fresh(appId);
      if (application === undefined) application = await applications.load(appId, async () => (await findApplication(db, appId)) ?? null);
      if (!application) throw Errors.unauthenticated('The application of this token is no longer registered');
      // An application's access modes are checked again at each use: a mode taken away ends its tokens too.
      if (!application.accessModes.includes(claims.mode)) throw Errors.unauthenticated(`The application of this token is no longer allowed ${claims.mode} access`);
      actor.applicationId = application.applicationId;
    }
    if (claims.mode === 'healthcare-worker' || claims.mode === 'patient') actor.userId = claims.sub ?? '';
    noteActor(actor); // a refusal below (over the application's rate limit, or of the role profile) is audited with who asked
    if (application && !limiter.take(application.applicationId, application.rateLimitPerSecond)) throw Errors.tooManyRequests(1);
    if (claims.mode === 'healthcare-worker') {
      const userId = actor.userId ?? '';
      const userProfiles = profiles.fresh(userId) ?? (await profiles.load(userId, () => roleProfilesOf(db, userId)));
      Object.assign(actor, chooseRoleProfile(userProfiles, headers, claims.rpid));
    }
    const grant: TokenGrant = { actor, scopes: claims.scope?.split(' ') ?? [] };
    return grant;
  };
}

/** The role profile a healthcare worker acts in: the one NHSD-Session-URID names, else the token's selected role. */
function chooseRoleProfile(profiles: RoleProfile[], headers: IncomingHttpHeaders, selected: string | undefined): Partial<Actor> {
  const urid = headers['nhsd-session-urid'];
  if (urid !== undefined && (typeof urid !== 'string' || !URID.test(urid))) {
    throw Errors.invalidValue(`Invalid value - '${String(urid)}' in header 'NHSD-Session-URID'`);
  }
  const chosen = urid ?? selected;
  if (chosen === undefined) throw Errors.missingValue("Missing value in header 'NHSD-Session-URID'");
  const profile = profiles.find((candidate) => candidate.roleProfileId === chosen && candidate.active);
  if (!profile) throw Errors.accessDenied(`Access denied: role profile '${chosen}' is not one of this user's active role profiles`);
  const ods = headers['nhsd-end-user-organisation-ods'];
  if (ods !== undefined && ods !== profile.orgCode) {
    throw Errors.accessDenied(`Access denied: the role profile '${chosen}' is not in the organisation '${String(ods)}'`);
  }
  return { roleProfileId: profile.roleProfileId, organisationOds: profile.orgCode, activityCodes: profile.activityCodes };
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + separator.length)];
}

type Cache<T> = {
  fresh(key: string): T | undefined;
  load(key: string, loader: () => Promise<T>): Promise<T>;
  forget(key: string): void;
  clear(): void;
};

/**
 * A small time-bounded cache; a failed load is not kept, nor one that a forget overtook (it may
 * have read what the change replaced). `fresh` answers at once, without the turn of the event loop
 * an await costs (three of them a request, each a promise and a microtask).
 */
function cache<T>(): Cache<T> {
  const entries = new Map<string, { value: T; until: number }>();
  let forgets = 0;
  return {
    fresh(key) {
      const entry = entries.get(key);
      return entry && entry.until > Date.now() ? entry.value : undefined;
    },
    async load(key, loader) {
      const forgetsBefore = forgets;
      const value = await loader();
      if (forgets !== forgetsBefore) return value;
      if (entries.size >= CACHE_LIMIT) entries.clear();
      entries.set(key, { value, until: Date.now() + CACHE_SECONDS * 1000 });
      return value;
    },
    forget(key) {
      forgets++;
      entries.delete(key);
    },
    clear() {
      forgets++;
      entries.clear();
    },
  };
}
