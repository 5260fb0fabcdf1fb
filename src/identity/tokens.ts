// OpenSpine's own access tokens: JWTs signed with a key kept in the database, verified on every
// request. Lifetime 599 s, as the NHS API platform's (../shared/specs/README.md section 6).
import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWTPayload } from 'jose';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import type { Authenticator, TokenGrant } from '../platform/http/access.ts';
import { insertSigningKey, listSigningKeys, type SigningKeyRow } from './store.ts';

export const ACCESS_TOKEN_LIFETIME_SECONDS = 599;
const ISSUER = 'openspine';
const AUDIENCE = 'openspine-api';
const ALGORITHM = 'RS256';
/** Verified tokens kept in memory, so a busy client's token is checked once, not on every call. */
const VERIFIED_CACHE_LIMIT = 10_000;

type AccessClaims = JWTPayload & {
  mode: Actor['mode'];
  scope?: string;
  app?: string;
  org?: string;
  rpid?: string;
  act?: string[];
};

/** The key that signs new tokens: the newest unretired one, made on first use. */
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
  return { ...key, retiredAt: null };
}

export type TokenRequest = { actor: Actor; scopes?: string[]; lifetimeSeconds?: number };

export async function issueAccessToken(db: Database, request: TokenRequest): Promise<{ accessToken: string; expiresIn: number }> {
  const key = await activeSigningKey(db);
  const { actor } = request;
  const expiresIn = request.lifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS;
  const claims: AccessClaims = {
    mode: actor.mode,
    ...(request.scopes?.length ? { scope: request.scopes.join(' ') } : {}),
    ...(actor.applicationId ? { app: actor.applicationId } : {}),
    ...(actor.organisationOds ? { org: actor.organisationOds } : {}),
    ...(actor.roleProfileId ? { rpid: actor.roleProfileId } : {}),
    ...(actor.activityCodes.length ? { act: actor.activityCodes } : {}),
  };
  const accessToken = await new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(actor.userId ?? actor.applicationId ?? 'openspine')
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${expiresIn}s`)
    .sign(await importJWK(key.privateJwk, ALGORITHM));
  return { accessToken, expiresIn };
}

/** The request authenticator: verifies the signature, issuer, audience and expiry of a token. */
export function createAccessTokenVerifier(db: Database): Authenticator {
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  const verified = new Map<string, { grant: TokenGrant; expiresAt: number }>();
  const loadKeys = async () => {
    keySet = createLocalJWKSet({ keys: (await listSigningKeys(db)).map((key) => key.publicJwk) });
    return keySet;
  };
  const verify = async (token: string, reloaded: boolean): Promise<JWTPayload> => {
    try {
      return (await jwtVerify(token, keySet ?? (await loadKeys()), { issuer: ISSUER, audience: AUDIENCE, algorithms: [ALGORITHM] })).payload;
    } catch (error) {
      // A key made by another process after we loaded ours: reload once.
      if (!reloaded && (error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY') {
        await loadKeys();
        return verify(token, true);
      }
      throw Errors.unauthenticated('Invalid access token');
    }
  };
  return async (token) => {
    const cached = verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.grant;
    const claims = (await verify(token, false)) as AccessClaims;
    const grant: TokenGrant = {
      actor: {
        mode: claims.mode,
        activityCodes: claims.act ?? [],
        ...(claims.app ? { applicationId: claims.app } : {}),
        ...(claims.sub && claims.mode !== 'application-restricted' ? { userId: claims.sub } : {}),
        ...(claims.org ? { organisationOds: claims.org } : {}),
        ...(claims.rpid ? { roleProfileId: claims.rpid } : {}),
      },
      scopes: claims.scope?.split(' ') ?? [],
    };
    if (verified.size >= VERIFIED_CACHE_LIMIT) verified.clear();
    verified.set(token, { grant, expiresAt: (claims.exp ?? 0) * 1000 });
    return grant;
  };
}
