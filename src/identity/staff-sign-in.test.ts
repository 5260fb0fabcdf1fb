// Staff access end to end: CIS2-shaped sign-in (authorization code with PKCE), userinfo, the
// token exchange for an API token, and the role profile chosen by NHSD-Session-URID.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import { registerTestApplication } from '../../test/support/applications.ts';
import { CIS2_ISSUER_PATH } from './cis2.ts';
import { DEMO_PASSWORD, DEMO_PEOPLE } from './seed.ts';
import { exchangeIdToken, REDIRECT, relyingParty, SOME_CODE_CHALLENGE } from './test-kit.ts';

const t = await buildTestApp();
const clinical = await registerTestApplication(t, { accessModes: ['healthcare-worker'], redirectUris: [REDIRECT], rateLimitPerSecond: 1000 });
const cis2 = relyingParty(t, { issuerPath: CIS2_ISSUER_PATH, tokenPath: '/access_token', scope: 'openid profile nationalrbacaccess selectedrole' }, clinical);
const [gp, nurse] = DEMO_PEOPLE;
assert.ok(gp && nurse);

const signIn = (userId: string, password: string, roleProfileId = '', address?: string) => cis2.signIn({ user_id: userId, password, role_profile_id: roleProfileId }, address);
const idTokenFor = async (userId: string) => (await cis2.tokensFor({ user_id: userId, password: DEMO_PASSWORD })).id_token;

async function apiTokenFor(userId: string): Promise<string> {
  const exchange = await exchangeIdToken(t, await idTokenFor(userId), clinical);
  assert.equal(exchange.statusCode, 200, exchange.body);
  const body = exchange.json<{ access_token: string; issued_token_type: string; expires_in: number }>();
  assert.equal(body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  assert.equal(body.expires_in, 599);
  return body.access_token;
}

test('the discovery document names the endpoints and the JWKS holds the signing keys', async () => {
  const discovery = (await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/.well-known/openid-configuration` })).json<Record<string, unknown>>();
  assert.equal(discovery.issuer, `${t.config.publicBaseUrl}${CIS2_ISSUER_PATH}`);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  const jwks = (await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/connect/jwk_uri` })).json<{ keys: { kid: string; d?: string }[] }>();
  assert.ok(jwks.keys.length > 0);
  assert.ok(jwks.keys.every((key) => key.d === undefined), 'no private parts');
});

test('the sign-in page is served for a registered client, refused for an unregistered redirect', async () => {
  const query = `client_id=${clinical.applicationId}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&scope=openid&code_challenge=${SOME_CODE_CHALLENGE}&code_challenge_method=S256`;
  const page = await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/authorize?${query}` });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<form method="post"/);
  assert.equal(page.headers['x-frame-options'], 'DENY', 'never inside another site’s frame');
  assert.equal(page.headers['content-security-policy'], "frame-ancestors 'none'");
  const badChallenge = await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/authorize?${query.replace(SOME_CODE_CHALLENGE, 'abc')}` });
  assert.equal(badChallenge.statusCode, 400, 'a challenge that is no S256 hash');
  assert.match(badChallenge.body, /code_challenge must be the S256 challenge/);
  const refused = await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/authorize?${query.replace(encodeURIComponent(REDIRECT), encodeURIComponent('https://evil.example/'))}` });
  assert.equal(refused.statusCode, 400);
  assert.equal(refused.headers.location, undefined, 'never redirected to an unregistered URI');
  // RFC 6749 section 3.1: a parameter given twice is refused, not taken as a list.
  for (const twice of ['client_id', 'scope', 'redirect_uri']) {
    const repeated = await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/authorize?${query}&${twice}=again` });
    assert.equal(repeated.statusCode, 400, `${twice} twice: ${repeated.body}`);
  }
});

test('a wrong password shows the page again; the right one redirects with a code and the state', async () => {
  const wrong = await signIn(gp.userId, 'not-the-password');
  assert.equal(wrong.response.statusCode, 401);
  assert.match(wrong.response.body, /There is a problem/);
  const right = await signIn(gp.userId, DEMO_PASSWORD);
  assert.equal(right.response.statusCode, 302);
  const location = new URL(String(right.response.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  assert.equal(location.searchParams.get('state'), 'state-123');
  assert.ok(location.searchParams.get('code'));
  const otherRole = await signIn(gp.userId, DEMO_PASSWORD, nurse.role.roleProfileId);
  assert.equal(otherRole.response.statusCode, 401, "someone else's role profile cannot be chosen");
});

test('sign-in fields that are not text (a JSON body’s number, object or list) are refused as the client’s mistake, redirect nowhere, and are audited', async () => {
  const notText = [{ user_id: Number(gp.userId), password: DEMO_PASSWORD }, { user_id: gp.userId, password: {} }, { user_id: gp.userId, password: DEMO_PASSWORD, scope: ['openid'] }];
  for (const credentials of notText) {
    const response = await cis2.signInAsJson(credentials);
    assert.equal(response.statusCode, 400, `${JSON.stringify(credentials)}: ${response.body}`);
    assert.equal(response.headers.location, undefined);
    const records = await auditRecords(t.db);
    const record = records.find((candidate) => candidate.requestId === response.headers['x-request-id']);
    assert.equal(record?.outcome, 'failure', `no record of ${JSON.stringify(credentials)}`);
  }
});

test('the code gives an ID token with CIS2 claims, once, and only with the right PKCE verifier', async () => {
  const { code } = await signIn(gp.userId, DEMO_PASSWORD);
  const wrongVerifier = await cis2.redeem(code, 'x'.repeat(43));
  assert.equal(wrongVerifier.statusCode, 400);
  assert.equal(wrongVerifier.json<{ error: string }>().error, 'invalid_grant');

  // The code was taken by the failed attempt: it is single-use whatever happened.
  const second = await signIn(gp.userId, DEMO_PASSWORD);
  const tokens = await cis2.redeem(second.code, second.verifier);
  assert.equal(tokens.statusCode, 200, tokens.body);
  const body = tokens.json<{ id_token: string; access_token: string }>();
  const claims = decodeJwt(body.id_token);
  assert.equal(claims.nhsid_useruid, gp.userId);
  assert.equal(claims.selected_roleid, gp.role.roleProfileId);
  assert.equal(claims.nonce, 'nonce-456');
  assert.equal(claims.aud, clinical.applicationId);

  const userinfo = await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/userinfo`, headers: { authorization: `Bearer ${body.access_token}` } });
  const info = userinfo.json<{ nhsid_useruid: string; selected_roleid: string; nhsid_user_orgs: { org_code: string; org_name: string }[]; nhsid_nrbac_roles: { person_roleid: string; role_code: string; activity_codes: string[] }[] }>();
  assert.equal(info.nhsid_useruid, gp.userId);
  assert.equal(info.selected_roleid, gp.role.roleProfileId);
  assert.deepEqual(info.nhsid_user_orgs, [{ org_code: 'A83008', org_name: 'OpenSpine Demo GP Practice' }]);
  assert.deepEqual(info.nhsid_nrbac_roles[0]?.activity_codes, gp.role.activityCodes);
  assert.equal((await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/userinfo`, headers: { authorization: 'Bearer forged' } })).statusCode, 401);

  // Presented again, the code is refused, and what it gave is revoked.
  const replay = await cis2.redeem(second.code, second.verifier);
  assert.equal(replay.json<{ error: string }>().error, 'invalid_grant');
  assert.equal((await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/userinfo`, headers: { authorization: `Bearer ${body.access_token}` } })).statusCode, 401);
});

test('token exchange gives a user-restricted token; the role comes from NHSD-Session-URID, which must be the user’s own', async () => {
  const token = await apiTokenFor(gp.userId);
  const read = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/spine-directory/FHIR/R4/Organization', headers: { authorization: `Bearer ${token}`, ...headers } });
  assert.equal((await read({})).statusCode, 200, 'the selected role of the sign-in');
  assert.equal((await read({ 'nhsd-session-urid': gp.role.roleProfileId })).statusCode, 200);
  assert.equal((await read({ 'nhsd-session-urid': gp.role.roleProfileId, 'nhsd-end-user-organisation-ods': 'A83008' })).statusCode, 200);

  const someoneElses = await read({ 'nhsd-session-urid': nurse.role.roleProfileId });
  assert.equal(someoneElses.statusCode, 403);
  assert.match(someoneElses.body, /ACCESS_DENIED/);
  const otherOrganisation = await read({ 'nhsd-session-urid': gp.role.roleProfileId, 'nhsd-end-user-organisation-ods': 'RBA' });
  assert.equal(otherOrganisation.statusCode, 403);
  const malformed = await read({ 'nhsd-session-urid': '555000000101\r\nX-Injected: 1' });
  assert.ok([400, 403].includes(malformed.statusCode), String(malformed.statusCode));
  const notDigits = await read({ 'nhsd-session-urid': 'abc' });
  assert.equal(notDigits.statusCode, 400);
  assert.match(notDigits.body, /Invalid value - 'abc' in header 'NHSD-Session-URID'/);
});

test('an ID token issued to another client, or not an ID token at all, cannot be exchanged', async () => {
  const other = await registerTestApplication(t, { accessModes: ['healthcare-worker'], redirectUris: [REDIRECT] });
  const idToken = await idTokenFor(gp.userId);
  const exchange = (subjectToken: string) => exchangeIdToken(t, subjectToken, other);
  const stolen = await exchange(idToken);
  assert.equal(stolen.statusCode, 401);
  assert.equal(stolen.json<{ error: string }>().error, 'invalid_grant');
  const accessTokenInstead = await exchange(await t.token());
  assert.equal(accessTokenInstead.statusCode, 401);
});

test('an account takes five password attempts in fifteen minutes: then even the right one is refused (429, Retry-After) until the window ends; a sign-in that succeeds starts the count again', async () => {
  const clerk = DEMO_PEOPLE[3];
  assert.ok(clerk);
  for (let attempt = 0; attempt < 4; attempt++) assert.equal((await signIn(clerk.userId, 'not-the-password')).response.statusCode, 401);
  assert.equal((await signIn(clerk.userId, DEMO_PASSWORD)).response.statusCode, 302, 'the fifth attempt, right, signs in');
  for (let attempt = 0; attempt < 5; attempt++) assert.equal((await signIn(clerk.userId, 'not-the-password')).response.statusCode, 401);
  const refused = await signIn(clerk.userId, DEMO_PASSWORD);
  assert.equal(refused.response.statusCode, 429);
  const wait = Number(refused.response.headers['retry-after']);
  assert.ok(wait > 0 && wait <= 900, `Retry-After ${wait}`);
  assert.match(refused.response.body, /Too many attempts to sign in to this account/);
  assert.equal(refused.code, '', 'no code');
  assert.equal((await signIn(gp.userId, DEMO_PASSWORD)).response.statusCode, 302, 'another account is not held back');
  // An account that does not exist is counted the same: the answers do not tell which exist.
  for (let attempt = 0; attempt < 5; attempt++) assert.equal((await signIn('999999999999', 'guess')).response.statusCode, 401);
  assert.equal((await signIn('999999999999', 'guess')).response.statusCode, 429);
});

test('a user id too long to be any account is refused as a wrong one (401), not a 500, and is not counted', async () => {
  const refused = await signIn('9'.repeat(6000), 'guess');
  assert.equal(refused.response.statusCode, 401, refused.response.body.slice(0, 200));
  assert.match(refused.response.body, /The user ID or password is not right/);
  const [row] = await t.db<{ rows: number }[]>`select count(*)::int as rows from identity_sign_in_attempt where length(account) > 320`;
  assert.equal(row?.rows, 0);
});

test('attempts whose window has ended are deleted by later attempts, so junk sign-ins cannot fill the table', async () => {
  const stale = Array.from({ length: 15 }, (_, index) => `cis2:stale-${Date.now()}-${index}`);
  await t.db`insert into identity_sign_in_attempt ${t.db(stale.map((account) => ({ account, attempts: 1, window_started_at: new Date(Date.now() - 3_600_000) })))}`;
  const left = async () => (await t.db<{ rows: number }[]>`select count(*)::int as rows from identity_sign_in_attempt where account = any(${stale})`)[0]?.rows;
  await signIn('999999999998', 'guess');
  await signIn('999999999997', 'guess');
  assert.equal(await left(), 0, 'ten a time, oldest first');
});

test("attempts are counted by address too: someone else's guesses, however many, do not lock the owner out at their own", async () => {
  const pharmacist = DEMO_PEOPLE[2];
  assert.ok(pharmacist);
  for (let attempt = 0; attempt < 5; attempt++) assert.equal((await signIn(pharmacist.userId, 'guess', '', '10.9.0.66')).response.statusCode, 401);
  // Held back at the guesser's address, where refused attempts add nothing to the account's count from anywhere.
  for (let attempt = 0; attempt < 51; attempt++) assert.equal((await signIn(pharmacist.userId, 'guess', '', '10.9.0.66')).response.statusCode, 429);
  assert.equal((await signIn(pharmacist.userId, DEMO_PASSWORD, '', '10.9.0.7')).response.statusCode, 302, 'not at the owner’s');
  // A user id written as the account's counter at the owner's address is no account, and counts nothing.
  for (let attempt = 0; attempt < 6; attempt++) await signIn(`${pharmacist.userId}\n10.9.0.8`, 'guess', '', '10.9.0.66');
  assert.equal((await signIn(pharmacist.userId, DEMO_PASSWORD, '', '10.9.0.8')).response.statusCode, 302);
});

test('sign-ins that succeed are not counted as guesses: the 51st in fifteen minutes still signs in', async () => {
  let status = 0;
  for (let signIns = 0; signIns < 51; signIns++) status = (await signIn(nurse.userId, DEMO_PASSWORD, '', `10.7.0.${signIns % 20}`)).response.statusCode;
  assert.equal(status, 302);
});

test('guesses spread over many addresses are held back too: 50 an account in fifteen minutes, from anywhere', async () => {
  const account = '999999999990';
  for (let address = 0; address < 10; address++) {
    for (let attempt = 0; attempt < 5; attempt++) assert.equal((await signIn(account, 'guess', '', `10.8.0.${address}`)).response.statusCode, 401);
  }
  assert.equal((await signIn(account, 'guess', '', '10.8.1.1')).response.statusCode, 429, 'the 51st, from an address not seen before');
});
