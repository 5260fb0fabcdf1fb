// An application's own side of signing in to the token endpoint, for trying OpenSpine out from a
// shell: a new RS512 key pair whose public half is registered in the application's JWKS, and
// client assertions signed with its private half (the claims client-assertion.ts checks).
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Database } from '../platform/db/connect.ts';
import { findApplication, upsertApplication } from './store.ts';

const ALGORITHM = 'RS512';
const ASSERTION_LIFETIME_SECONDS = 240;

/** Adds a new key to the application's JWKS; returns the private key (with its kid), which is kept nowhere else. */
export async function addApplicationKey(db: Database, applicationId: string): Promise<JWK | undefined> {
  const application = await findApplication(db, applicationId);
  if (!application) return undefined;
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const kid = `${applicationId}-${randomBytes(4).toString('hex')}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' };
  await upsertApplication(db, { ...application, jwks: { keys: [...application.jwks.keys, publicJwk] } });
  return { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM };
}

/** A client assertion for the token endpoint at `audience`: iss = sub = the API key, a fresh jti, 4 minutes to live. */
export async function signClientAssertion(privateJwk: JWK, applicationId: string, audience: string): Promise<string> {
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: ALGORITHM, kid: privateJwk.kid ?? '', typ: 'JWT' })
    .setIssuer(applicationId)
    .setSubject(applicationId)
    .setAudience(audience)
    .setExpirationTime(Math.floor(Date.now() / 1000) + ASSERTION_LIFETIME_SECONDS)
    .sign(await importJWK(privateJwk, ALGORITHM));
}
