// Patient access end to end: NHS login-shaped sign-in (authorization code with PKCE), the ID token
// and userinfo with nhs_number and identity_proofing_level, and the token exchange that gives a P9
// patient a token for their own PDS record and refuses everything else.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import { registerTestApplication } from '../../test/support/applications.ts';
import { PDS_BASE } from '../pds/routes.ts';
import { addApplicationKey, signClientAssertion } from './application-keys.ts';
import { CIS2_ISSUER_PATH } from './cis2.ts';
import { NHS_LOGIN_ISSUER_PATH } from './nhs-login.ts';
import { DEMO_NHS_LOGIN_ACCOUNTS, DEMO_PASSWORD, DEMO_PEOPLE } from './seed.ts';
import { exchangeIdToken, REDIRECT, relyingParty, SOME_CODE_CHALLENGE, type ClientApplication } from './test-kit.ts';
import { findApplication } from './store.ts';
import { TOKEN_PATH } from './token-endpoint.ts';
import { signJwt } from './tokens.ts';

const t = await buildTestApp();
const patientApp = await registerTestApplication(t, { accessModes: ['patient'], redirectUris: [REDIRECT], rateLimitPerSecond: 1000 });
const NHS_LOGIN = { issuerPath: NHS_LOGIN_ISSUER_PATH, tokenPath: '/token', scope: 'openid profile profile_extended email' };
const nhsLogin = relyingParty(t, NHS_LOGIN, patientApp);
const issuer = `${t.config.publicBaseUrl}${NHS_LOGIN_ISSUER_PATH}`;
const NOT_CONFIGURED = 'you have tried to request authorization but your application is not configured to use this authorization grant type';

const accountAt = (level: string) => {
  const account = DEMO_NHS_LOGIN_ACCOUNTS.find((candidate) => candidate.identityProofingLevel === level);
  assert.ok(account, `a demo account at ${level}`);
  return account;
};
const jane = accountAt('P9');
const credentials = (email: string) => ({ email, password: DEMO_PASSWORD });
const readPatient = (token: string, nhsNumber: string) =>
  t.app.inject({ method: 'GET', url: `${PDS_BASE}/Patient/${nhsNumber}`, headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID() } });

/** The claims of a P9 ID token for Jane issued to the patient app, for signing test tokens of our own. */
const janeClaims = { nhs_number: jane.nhsNumber, identity_proofing_level: 'P9', vot: 'P9.Cp.Cd', family_name: jane.familyName, birthdate: jane.birthdate };

test('the discovery document names NHS login’s endpoints under its issuer, and the JWKS holds public keys only', async () => {
  const discovery = (await t.app.inject({ method: 'GET', url: `${NHS_LOGIN_ISSUER_PATH}/.well-known/openid-configuration` })).json<Record<string, unknown>>();
  assert.equal(discovery.issuer, issuer);
  assert.equal(discovery.authorization_endpoint, `${issuer}/authorize`);
  assert.equal(discovery.token_endpoint, `${issuer}/token`);
  assert.equal(discovery.userinfo_endpoint, `${issuer}/userinfo`);
  assert.equal(discovery.jwks_uri, `${issuer}/.well-known/jwks.json`);
  assert.ok((discovery.claims_supported as string[]).includes('identity_proofing_level'));
  const jwks = (await t.app.inject({ method: 'GET', url: `${NHS_LOGIN_ISSUER_PATH}/.well-known/jwks.json` })).json<{ keys: { kid: string; d?: string }[] }>();
  assert.ok(jwks.keys.length > 0);
  assert.ok(jwks.keys.every((key) => key.d === undefined), 'no private parts');
});

test('the sign-in page asks for an email address; a wrong password shows it again, the right one redirects with a code and the state', async () => {
  const query = new URLSearchParams({ client_id: patientApp.applicationId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid profile', code_challenge: SOME_CODE_CHALLENGE, code_challenge_method: 'S256' });
  const page = await t.app.inject({ method: 'GET', url: `${NHS_LOGIN_ISSUER_PATH}/authorize?${query.toString()}` });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<input type="email" id="email" name="email"/);

  const wrong = await nhsLogin.signIn({ email: jane.email, password: 'not-the-password' });
  assert.equal(wrong.response.statusCode, 401);
  assert.match(wrong.response.body, /There is a problem/);
  assert.equal(wrong.code, '');
  const right = await nhsLogin.signIn(credentials(jane.email.toUpperCase()));
  assert.equal(right.response.statusCode, 302, 'email addresses are not case-sensitive');
  const location = new URL(String(right.response.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  assert.equal(location.searchParams.get('state'), 'state-123');
  assert.ok(right.code);
});

test('the ID token carries NHS login’s claims, and userinfo the same and the email address', async () => {
  const tokens = await nhsLogin.tokensFor(credentials(jane.email));
  const claims = decodeJwt(tokens.id_token);
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, patientApp.applicationId);
  assert.equal(claims.nonce, 'nonce-456');
  assert.equal(claims.nhs_number, '9000000009');
  assert.equal(claims.identity_proofing_level, 'P9');
  assert.equal(claims.vot, 'P9.Cp.Cd');
  assert.equal(claims.vtm, `${issuer}/trustmark/openspine.test`);
  assert.equal(claims.birthdate, '2010-10-22');
  assert.equal(claims.family_name, 'Smith');
  assert.equal(claims.given_name, 'Jane', 'profile_extended was asked for');
  assert.match(String(claims.sub), /^[0-9a-f-]{36}$/, 'the subject is the account, not the NHS number');

  const userinfo = await t.app.inject({ method: 'GET', url: `${NHS_LOGIN_ISSUER_PATH}/userinfo`, headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(userinfo.statusCode, 200);
  const info = userinfo.json<Record<string, unknown>>();
  assert.equal(info.sub, claims.sub);
  assert.equal(info.nhs_number, '9000000009');
  assert.equal(info.email, jane.email);
  assert.equal(info.email_verified, true);
  assert.equal((await t.app.inject({ method: 'GET', url: `${NHS_LOGIN_ISSUER_PATH}/userinfo`, headers: { authorization: `Bearer ${tokens.id_token}` } })).statusCode, 401, 'an ID token is not an access token');
});

test('redeeming a code and reading userinfo are audited as the patient’s, with their NHS number, before the answer leaves', async () => {
  const { code, verifier } = await nhsLogin.signIn(credentials(jane.email));
  const redeemed = await nhsLogin.redeem(code, verifier);
  assert.equal(redeemed.statusCode, 200);
  const requestId = randomUUID();
  const userinfo = await t.app.inject({ method: 'GET', url: `${NHS_LOGIN_ISSUER_PATH}/userinfo`, headers: { authorization: `Bearer ${redeemed.json<{ access_token: string }>().access_token}`, 'x-request-id': requestId } });
  assert.equal(userinfo.statusCode, 200);
  const records = await auditRecords(t.db);
  for (const [what, record] of [['the code redeemed', records.findLast((candidate) => candidate.interaction === 'token')], ['userinfo', records.find((candidate) => candidate.requestId === requestId)]] as const) {
    assert.ok(record, `${what} is recorded`);
    assert.equal(record.outcome, 'success', what);
    assert.equal(record.actorMode, 'patient', what);
    assert.equal(record.userId, jane.nhsNumber, what);
    assert.equal(record.applicationId, patientApp.applicationId, what);
    assert.deepEqual(record.patientNhsNumbers, [jane.nhsNumber], what);
  }
});

test('end to end: a P9 patient’s ID token gives a patient token for their own PDS record, not for anyone else’s', async () => {
  const { id_token: idToken } = await nhsLogin.tokensFor(credentials(jane.email));
  const exchange = await exchangeIdToken(t, idToken, patientApp);
  assert.equal(exchange.statusCode, 200, exchange.body);
  const body = exchange.json<{ access_token: string; issued_token_type: string; expires_in: number; token_type: string }>();
  assert.equal(body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  assert.equal(body.expires_in, 599);
  assert.equal(body.token_type, 'Bearer');
  const access = decodeJwt(body.access_token);
  assert.equal(access.mode, 'patient');
  assert.equal(access.sub, '9000000009');

  const own = await readPatient(body.access_token, '9000000009');
  assert.equal(own.statusCode, 200, own.body);
  assert.equal(own.json<{ id: string }>().id, '9000000009');
  const someoneElses = await readPatient(body.access_token, '9000000017');
  assert.equal(someoneElses.statusCode, 403);
  assert.match(someoneElses.body, /ACCESS_DENIED/);
  assert.match(someoneElses.body, /a patient may see their own record only/);
});

test('an ID token below P9 (P5, P0) is refused with the platform’s unauthorized_client answer', async () => {
  for (const level of ['P5', 'P0']) {
    const { id_token: idToken } = await nhsLogin.tokensFor(credentials(accountAt(level).email));
    assert.equal(decodeJwt(idToken).identity_proofing_level, level);
    const exchange = await exchangeIdToken(t, idToken, patientApp);
    assert.equal(exchange.statusCode, 401, level);
    assert.deepEqual(exchange.json(), { error: 'unauthorized_client', error_description: NOT_CONFIGURED });
  }
  assert.equal(decodeJwt((await nhsLogin.tokensFor(credentials(accountAt('P0').email))).id_token).nhs_number, undefined, 'P0 has no NHS number');
});

test('an ID token issued to another application, expired, forged or from another issuer is refused', async () => {
  const otherApp = await registerTestApplication(t, { accessModes: ['patient'], redirectUris: [REDIRECT] });
  // Allowed both kinds of user, so that a token of neither of our issuers is refused for what it is.
  const bothApp = await registerTestApplication(t, { accessModes: ['patient', 'healthcare-worker'] });
  const { id_token: idToken } = await nhsLogin.tokensFor(credentials(jane.email));
  const { kid } = decodeProtectedHeader(idToken);
  const { privateKey: notOurKey } = await generateKeyPair('RS256');
  const token = (lifetimeSeconds: number, issuedBy = issuer, audience = patientApp) => signJwt(t.db, janeClaims, { issuer: issuedBy, audience: audience.applicationId, subject: randomUUID(), lifetimeSeconds });
  assert.equal((await exchangeIdToken(t, await token(300), patientApp)).statusCode, 200, 'the test tokens are right but for what each case changes');
  assert.equal((await exchangeIdToken(t, await token(300, issuer, bothApp), bothApp)).statusCode, 200);

  const cases: [string, string, typeof patientApp][] = [
    ['issued to another application', idToken, otherApp],
    ['expired', await token(-60), patientApp],
    ['forged', await new SignJWT(janeClaims).setProtectedHeader({ alg: 'RS256', kid: kid ?? '', typ: 'JWT' }).setIssuer(issuer).setAudience(patientApp.applicationId).setSubject(randomUUID()).setIssuedAt().setExpirationTime('5m').sign(notOurKey), patientApp],
    ['from an issuer that only looks like ours', await token(300, `${issuer}x`, bothApp), bothApp],
  ];
  for (const [name, subjectToken, application] of cases) {
    const exchange = await exchangeIdToken(t, subjectToken, application);
    assert.equal(exchange.statusCode, 401, name);
    assert.equal(exchange.json<{ error: string }>().error, 'invalid_grant', name);
  }
});

test('a code is redeemed only with the right PKCE verifier, once, and only at the provider that issued it', async () => {
  const { code, verifier } = await nhsLogin.signIn(credentials(jane.email));
  const shortVerifier = await nhsLogin.redeem(code, 'a');
  assert.equal(shortVerifier.statusCode, 400, 'RFC 7636: a verifier has 43 to 128 characters');
  assert.match(shortVerifier.body, /code_verifier must be 43 to 128 characters/);
  const wrongVerifier = await nhsLogin.redeem(code, 'x'.repeat(43));
  assert.equal(wrongVerifier.statusCode, 400);
  assert.equal(wrongVerifier.json<{ error: string }>().error, 'invalid_grant');
  assert.match(wrongVerifier.body, /code_verifier does not match the code_challenge/);
  assert.equal((await nhsLogin.redeem(code, verifier)).statusCode, 400, 'the failed attempt used the code up');

  const staffApp = await registerTestApplication(t, { accessModes: ['healthcare-worker'], redirectUris: [REDIRECT] });
  const cis2 = relyingParty(t, { issuerPath: CIS2_ISSUER_PATH, tokenPath: '/access_token', scope: 'openid' }, staffApp);
  const staffCode = await cis2.signIn({ user_id: DEMO_PEOPLE[0]?.userId ?? '', password: DEMO_PASSWORD });
  assert.equal(staffCode.response.statusCode, 302);
  const crossed = await relyingParty(t, NHS_LOGIN, staffApp).redeem(staffCode.code, staffCode.verifier);
  assert.equal(crossed.statusCode, 400, 'a CIS2 code is no NHS login code');
  assert.equal(crossed.json<{ error: string }>().error, 'invalid_grant');
});

test('a code presented again revokes the tokens its redemption issued: userinfo and the token exchange refuse them (RFC 6749 4.1.2)', async () => {
  const { code, verifier } = await nhsLogin.signIn(credentials(jane.email));
  const first = await nhsLogin.redeem(code, verifier);
  assert.equal(first.statusCode, 200);
  const tokens = first.json<{ access_token: string; id_token: string }>();
  const userinfo = () => t.app.inject({ method: 'GET', url: `${NHS_LOGIN_ISSUER_PATH}/userinfo`, headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal((await userinfo()).statusCode, 200);
  assert.equal((await exchangeIdToken(t, tokens.id_token, patientApp)).statusCode, 200);

  const again = await nhsLogin.redeem(code, verifier);
  assert.equal(again.statusCode, 400);
  assert.deepEqual(again.json(), { error: 'invalid_grant', error_description: 'The authorization code was already used: the tokens issued for it are revoked' });
  assert.equal((await userinfo()).statusCode, 401, 'the access token is revoked');
  const exchanged = await exchangeIdToken(t, tokens.id_token, patientApp);
  assert.equal(exchanged.statusCode, 401, 'the ID token is revoked');
  assert.equal(exchanged.json<{ error: string }>().error, 'invalid_grant');
});

test('an application not allowed patient access cannot exchange an NHS login ID token, even at P9', async () => {
  const staffApp = await registerTestApplication(t, { accessModes: ['healthcare-worker', 'application-restricted'], redirectUris: [REDIRECT] });
  const { id_token: idToken } = await relyingParty(t, NHS_LOGIN, staffApp).tokensFor(credentials(jane.email));
  const exchange = await exchangeIdToken(t, idToken, staffApp);
  assert.equal(exchange.statusCode, 401);
  assert.deepEqual(exchange.json(), { error: 'unauthorized_client', error_description: NOT_CONFIGURED });
});

test('the README’s way: the seeded patient application, given a key by identity app-key, signs its own assertions', async () => {
  const privateJwk = await addApplicationKey(t.db, 'openspine-demo-patient');
  assert.ok(privateJwk?.d && privateJwk.kid, 'the private key is handed out');
  const registered = await findApplication(t.db, 'openspine-demo-patient');
  assert.ok(registered?.jwks.keys.some((key) => key.kid === privateJwk.kid && key.d === undefined), 'its public half, only, is registered');
  assert.equal(await addApplicationKey(t.db, 'no-such-application'), undefined);

  const demoApp: ClientApplication = {
    applicationId: 'openspine-demo-patient',
    assertion: () => signClientAssertion(privateJwk, 'openspine-demo-patient', t.config.publicBaseUrl + TOKEN_PATH),
  };
  const { id_token: idToken } = await relyingParty(t, NHS_LOGIN, demoApp).tokensFor(credentials(jane.email));
  const exchange = await exchangeIdToken(t, idToken, demoApp);
  assert.equal(exchange.statusCode, 200, exchange.body);
  assert.equal((await readPatient(exchange.json<{ access_token: string }>().access_token, '9000000009')).statusCode, 200);
});

test('an NHS login account takes five password attempts in fifteen minutes, however its email address is written', async () => {
  const newUser = accountAt('P0');
  for (const email of [newUser.email, newUser.email.toUpperCase(), newUser.email, newUser.email.toUpperCase(), newUser.email]) {
    assert.equal((await nhsLogin.signIn({ email, password: 'not-the-password' })).response.statusCode, 401);
  }
  const refused = await nhsLogin.signIn(credentials(newUser.email.toUpperCase()));
  assert.equal(refused.response.statusCode, 429);
  assert.ok(Number(refused.response.headers['retry-after']) > 0);
});
