// Helpers for the sign-in tests: a relying party's side of the authorization code flow with PKCE
// at one of our OpenID Connect providers (CIS2- or NHS login-shaped), and the token exchange of
// the ID token it gets at the API platform's token endpoint, as a client application does them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { TestApp } from '../../test/support/app.ts';
import type { TestApplication } from '../../test/support/applications.ts';

export const REDIRECT = 'http://localhost:3000/callback';
/** A well-formed S256 code challenge, for pages asked for without going on to redeem a code. */
export const SOME_CODE_CHALLENGE = createHash('sha256').update('v'.repeat(43)).digest('base64url');
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** What the flows need of a client application: its API key, and client assertions it signs. */
export type ClientApplication = Pick<TestApplication, 'applicationId' | 'assertion'>;

/** A relying party of the provider at `issuerPath`: signs in with the fields of its page, and redeems codes at `tokenPath`. */
export function relyingParty(t: TestApp, provider: { issuerPath: string; tokenPath: string; scope: string }, application: ClientApplication) {
  const authorizationRequest = (verifier: string) => ({
    response_type: 'code',
    client_id: application.applicationId,
    redirect_uri: REDIRECT,
    scope: provider.scope,
    state: 'state-123',
    nonce: 'nonce-456',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const redeem = (code: string, codeVerifier: string) =>
    t.app.inject({
      method: 'POST',
      url: `${provider.issuerPath}${provider.tokenPath}`,
      headers: FORM,
      payload: form({ grant_type: 'authorization_code', code, code_verifier: codeVerifier, redirect_uri: REDIRECT, client_id: application.applicationId }),
    });

  return {
    /** Posts the sign-in page with these credentials (from `address`); the response redirects with a code when they are right. */
    async signIn(credentials: Record<string, string>, address = '127.0.0.1') {
      const verifier = randomBytes(32).toString('base64url');
      const response = await t.app.inject({ method: 'POST', url: `${provider.issuerPath}/authorize`, headers: FORM, remoteAddress: address, payload: form({ ...authorizationRequest(verifier), ...credentials }) });
      const code = response.headers.location ? (new URL(String(response.headers.location)).searchParams.get('code') ?? '') : '';
      return { response, verifier, code };
    },
    /** Posts the sign-in as JSON, so that fields can be other than text. */
    signInAsJson(credentials: Record<string, unknown>) {
      return t.app.inject({ method: 'POST', url: `${provider.issuerPath}/authorize`, headers: { 'x-request-id': randomUUID() }, payload: { ...authorizationRequest(randomBytes(32).toString('base64url')), ...credentials } });
    },
    redeem,
    /** Signs in and redeems the code: the provider's ID token and access token. */
    async tokensFor(credentials: Record<string, string>): Promise<{ id_token: string; access_token: string }> {
      const { code, verifier } = await this.signIn(credentials);
      const tokens = await redeem(code, verifier);
      if (tokens.statusCode !== 200) throw new Error(`redeeming the code failed: ${tokens.body}`);
      return tokens.json<{ id_token: string; access_token: string }>();
    },
  };
}

/** The token exchange at the API platform's token endpoint: an ID token and the application's client assertion. */
export async function exchangeIdToken(t: TestApp, subjectToken: string, application: ClientApplication) {
  return t.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: FORM,
    payload: form({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      subject_token: subjectToken,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await application.assertion(),
    }),
  });
}
