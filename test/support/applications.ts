// A test application registered through the admin API, with its own RS512 key pair, that can
// sign client assertions (and deliberately wrong ones).
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import type { TestApp } from './app.ts';

export type TestApplication = {
  applicationId: string;
  kid: string;
  privateKey: CryptoKey;
  /** A client assertion for the token endpoint; claims and header can be overridden or removed (undefined). */
  assertion(options?: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: CryptoKey; algorithm?: string }): Promise<string>;
};

export async function registerTestApplication(
  t: TestApp,
  settings: { accessModes: string[]; rateLimitPerSecond?: number; redirectUris?: string[] },
): Promise<TestApplication> {
  const applicationId = `test-app-${randomBytes(4).toString('hex')}`;
  const kid = `key-${randomBytes(4).toString('hex')}`;
  const { privateKey, publicKey } = await generateKeyPair('RS512', { extractable: true });
  const response = await t.app.inject({
    method: 'PUT',
    url: `/identity/v1/applications/${applicationId}`,
    headers: { ...(await t.adminHeaders()), 'content-type': 'application/json' },
    payload: { name: 'Test application', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS512', use: 'sig' }] }, ...settings },
  });
  if (response.statusCode !== 200) throw new Error(`registering the test application failed: ${response.body}`);
  const tokenUrl = `${t.config.publicBaseUrl}/oauth2/token`;
  return {
    applicationId,
    kid,
    privateKey,
    async assertion(options = {}) {
      const algorithm = options.algorithm ?? 'RS512';
      const claims: JWTPayload = { iss: applicationId, sub: applicationId, aud: tokenUrl, jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 240, ...options.claims };
      for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
      const header = { alg: algorithm, kid, typ: 'JWT', ...options.header };
      for (const [name, value] of Object.entries(header)) if (value === undefined) delete (header as Record<string, unknown>)[name];
      return new SignJWT(claims).setProtectedHeader(header).sign(options.key ?? privateKey);
    },
  };
}

/** The form body of a client-credentials token request. */
export function clientCredentialsForm(assertion: string, overrides: Record<string, string | undefined> = {}): string {
  const fields: Record<string, string | undefined> = {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    ...overrides,
  };
  return new URLSearchParams(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined)).toString();
}
