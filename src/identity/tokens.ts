// OpenSpine's signed tokens: API access tokens (599 s, as the NHS API platform's) and staff ID
// tokens (CIS2-shaped), signed with keys kept in the database. Keys rotate without downtime: a
// retired key stops signing but verifies until every token it signed has expired.
// ../shared/specs/README.md section 6.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { insertSigningKey, listSigningKeys, retireSigningKeys, type SigningKeyRow } from './store.ts';

export const ACCESS_TOKEN_LIFETIME_SECONDS = 599;
/** The longest any token of ours lives (CLI tokens for trying things out); retired keys verify this long. */
export const LONGEST_TOKEN_LIFETIME_SECONDS = 86_400;
export const ACCESS_TOKEN_ISSUER = 'openspine';
export const ACCESS_TOKEN_AUDIENCE = 'openspine-api';
const ALGORITHM = 'RS256';

/** The claims of an API access token; `mode` is the access mode it was issued for. */
export type AccessClaims = JWTPayload & { mode: Actor['mode']; scope?: string; app?: string; rpid?: string };

/** The key that signs new tokens: the newest active one, made on first use. */
async function activeSigningKey(db: Database): Promise<SigningKeyRow> {
  const active = (await listSigningKeys(db)).find((key) => key.retiredAt === null);
  if (active) return active;
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const kid = randomUUID();
  const key = {
    kid,
    algorithm: ALGORITHM,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' },
  };
  await insertSigningKey(db, key);
  return { ...key, createdAt: new Date(), retiredAt: null };
}

/** Starts a new signing key; tokens signed by the old ones stay valid until they expire. */
export async function rotateSigningKeys(db: Database): Promise<string> {
  await retireSigningKeys(db);
  return (await activeSigningKey(db)).kid;
}

/** The keys that may have signed a live token: the active one, and those retired less than the longest token lifetime ago. */
async function trustedSigningKeys(db: Database): Promise<SigningKeyRow[]> {
  return (await listSigningKeys(db)).filter((key) => key.retiredAt === null || trustedUntil(key.retiredAt) > Date.now());
}

/** When a key retired at `retiredAt` has no live token left, and stops verifying. */
const trustedUntil = (retiredAt: Date): number => retiredAt.getTime() + LONGEST_TOKEN_LIFETIME_SECONDS * 1000;

/** The public keys that may have signed a live token: the JWKS published for verifiers. */
export async function publicKeySet(db: Database): Promise<JSONWebKeySet> {
  return { keys: (await trustedSigningKeys(db)).map((key) => key.publicJwk) };
}

/** How long a verifier keeps its keys at most: it learns in time of keys retired by other processes, which verify for a day more. */
const KEY_SET_REFRESH_MS = 3_600_000;

/** `jti`: the token's id, when the caller keeps it (a random one otherwise). */
export async function signJwt(db: Database, claims: JWTPayload, options: { issuer: string; audience: string; subject: string; lifetimeSeconds: number; jti?: string }): Promise<string> {
  const key = await activeSigningKey(db);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject)
    .setJti(options.jti ?? randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${options.lifetimeSeconds}s`)
    .sign(await importJWK(key.privateJwk, ALGORITHM));
}

export type TokenRequest = { actor: Actor; scopes?: string[]; lifetimeSeconds?: number };

export async function issueAccessToken(db: Database, request: TokenRequest): Promise<{ accessToken: string; expiresIn: number }> {
  const { actor } = request;
  const expiresIn = request.lifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS;
  const claims: AccessClaims = {
    mode: actor.mode,
    ...(request.scopes?.length ? { scope: request.scopes.join(' ') } : {}),
    ...(actor.applicationId ? { app: actor.applicationId } : {}),
    ...(actor.roleProfileId ? { rpid: actor.roleProfileId } : {}),
  };
  const subject = actor.userId ?? actor.applicationId ?? 'openspine';
  const accessToken = await signJwt(db, claims, { issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE, subject, lifetimeSeconds: expiresIn });
  return { accessToken, expiresIn };
}

/**
 * How often a verifier reloads its keys for kids it does not know, at most: a key made by a
 * rotation is learnt within this, and forged tokens with made-up kids cost the database one read a
 * second, not one each.
 */
const UNKNOWN_KID_RELOAD_MS = 1_000;

/**
 * Verifies tokens signed by our keys; reloads the keys when it meets a kid it does not know (one
 * reload at a time and at most one a second, which the tokens met meanwhile wait for), and when a
 * retired key among them stops being trusted (a token newly signed with it, by whoever took it, is
 * refused as a process that starts now would refuse it).
 */
export function createJwtVerifier(db: Database): (token: string, expected: { issuer: string; audience: string }) => Promise<JWTPayload> {
  type KeySet = ReturnType<typeof createLocalJWKSet>;
  let keySet: KeySet | undefined;
  let reloadAt = 0;
  // Reads can end out of order: a set read earlier never replaces one read later.
  let readsStarted = 0;
  let newestKept = 0;
  const readKeys = async (): Promise<KeySet> => {
    const read = ++readsStarted;
    const keys = await trustedSigningKeys(db);
    const set = createLocalJWKSet({ keys: keys.map((key) => key.publicJwk) });
    if (read > newestKept) {
      newestKept = read;
      keySet = set;
      reloadAt = Math.min(Date.now() + KEY_SET_REFRESH_MS, ...keys.flatMap((key) => (key.retiredAt ? [trustedUntil(key.retiredAt)] : [])));
    }
    return set;
  };
  // One load at a time: the tokens that find the keys missing or stale together share it.
  let loading: Promise<KeySet> | undefined;
  const loadKeys = () => (loading ??= readKeys().finally(() => (loading = undefined)));
  // A token of an unknown kid waits for a read of the keys that starts after it came (a key made
  // just before it must be seen), and is checked against what that read found: it joins the next
  // reload until that reload starts reading, and queues a new one after a reload already reading.
  let nextReload: { reading: boolean; done: Promise<KeySet> } | undefined;
  let nextReloadAt = 0;
  const reloadForUnknownKid = (): Promise<KeySet> => {
    if (nextReload && !nextReload.reading) return nextReload.done;
    const before = nextReload?.done;
    let reading = false;
    const done = (async () => {
      await before?.catch(() => undefined);
      await delay(Math.max(0, nextReloadAt - Date.now()));
      reading = true;
      nextReloadAt = Date.now() + UNKNOWN_KID_RELOAD_MS;
      return readKeys();
    })().finally(() => {
      if (nextReload === reload) nextReload = undefined;
    });
    const reload = { get reading() { return reading; }, done };
    nextReload = reload;
    return done;
  };
  const verifyWith = async (token: string, keys: KeySet, expected: { issuer: string; audience: string }) =>
    (await jwtVerify(token, keys, { ...expected, algorithms: [ALGORITHM] })).payload;
  return async (token, expected) => {
    try {
      return await verifyWith(token, keySet && Date.now() < reloadAt ? keySet : await loadKeys(), expected);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      return verifyWith(token, await reloadForUnknownKid(), expected);
    }
  };
}
