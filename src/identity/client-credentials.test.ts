// Application-restricted access: POST /oauth2/token with a signed JWT client assertion, and the
// NHS API platform's error body for each way an assertion can be wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import { clientCredentialsForm, registerTestApplication } from '../../test/support/applications.ts';

const t = await buildTestApp();
const system = await registerTestApplication(t, { accessModes: ['application-restricted'] });
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const requestToken = (body: string) => t.app.inject({ method: 'POST', url: '/oauth2/token', headers: FORM, payload: body });

test('a valid client assertion gets a 599-second bearer token that opens the APIs', async () => {
  const response = await requestToken(clientCredentialsForm(await system.assertion()));
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['cache-control'], 'no-store', 'RFC 6749 section 5.1: a token is never cached');
  assert.equal(response.headers.pragma, 'no-cache');
  const body = response.json<{ access_token: string; expires_in: number; token_type: string }>();
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 599);
  const read = await t.app.inject({ method: 'GET', url: '/spine-directory/FHIR/R4/Organization', headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(read.statusCode, 200);
});

test('each wrong assertion gets the platform error body', async () => {
  const { privateKey: otherKey } = await generateKeyPair('RS512');
  const { privateKey: rs256Key } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string>, number, string, string][] = [
    ['RS256', async () => clientCredentialsForm(await system.assertion({ algorithm: 'RS256', key: rs256Key })), 400, 'invalid_request', "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'"],
    ['no kid', async () => clientCredentialsForm(await system.assertion({ header: { kid: undefined } })), 400, 'invalid_request', "Missing 'kid' header in client_assertion JWT"],
    ['unknown kid', async () => clientCredentialsForm(await system.assertion({ header: { kid: 'not-ours' } })), 401, 'invalid_request', "Invalid 'kid' header in client_assertion JWT - no matching public key"],
    ['no typ', async () => clientCredentialsForm(await system.assertion({ header: { typ: undefined } })), 400, 'invalid_request', "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"],
    ['typ not JWT', async () => clientCredentialsForm(await system.assertion({ header: { typ: 'invalid' } })), 400, 'invalid_request', "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"],
    ['iss and sub not text', async () => clientCredentialsForm(await system.assertion({ claims: { iss: true, sub: true } })), 400, 'invalid_request', "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"],
    ['iss differs from sub', async () => clientCredentialsForm(await system.assertion({ claims: { sub: 'someone-else' } })), 400, 'invalid_request', "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"],
    ['unknown application', async () => clientCredentialsForm(await system.assertion({ claims: { iss: 'no-such-app', sub: 'no-such-app' } })), 401, 'invalid_request', "Invalid 'iss'/'sub' claims in client_assertion JWT"],
    ['wrong audience', async () => clientCredentialsForm(await system.assertion({ claims: { aud: 'https://elsewhere.example/oauth2/token' } })), 401, 'invalid_request', "Missing or invalid 'aud' claim in client_assertion JWT"],
    ['no audience', async () => clientCredentialsForm(await system.assertion({ claims: { aud: undefined } })), 401, 'invalid_request', "Missing or invalid 'aud' claim in client_assertion JWT"],
    ['no exp', async () => clientCredentialsForm(await system.assertion({ claims: { exp: undefined } })), 400, 'invalid_request', "Missing 'exp' claim in client_assertion JWT"],
    ['exp not an integer', async () => clientCredentialsForm(await system.assertion({ claims: { exp: now + 10.5 } })), 400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - must be an integer"],
    ['exp too far ahead', async () => clientCredentialsForm(await system.assertion({ claims: { exp: now + 301 + 5 } })), 400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future"],
    ['expired', async () => clientCredentialsForm(await system.assertion({ claims: { exp: now - 5 } })), 400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - JWT has expired"],
    ['not yet valid', async () => clientCredentialsForm(await system.assertion({ claims: { nbf: now + 120 } })), 400, 'invalid_request', `Invalid 'nbf' claim in client_assertion JWT - "nbf" claim timestamp check failed`],
    ['no jti', async () => clientCredentialsForm(await system.assertion({ claims: { jti: undefined } })), 400, 'invalid_request', "Missing 'jti' claim in client_assertion JWT"],
    ['jti of 4,800 characters', async () => clientCredentialsForm(await system.assertion({ claims: { jti: 'j'.repeat(4800) } })), 400, 'invalid_request', "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID"],
    ['grant_type given twice', async () => `grant_type=bogus&${clientCredentialsForm(await system.assertion())}`, 400, 'invalid_request', 'grant_type must be given once, as text'],
    ...[1234567890, { x: 1 }, true].map((jti): [string, () => Promise<string>, number, string, string] => [`jti ${JSON.stringify(jti)}`, async () => clientCredentialsForm(await system.assertion({ claims: { jti } })), 400, 'invalid_request', "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID"]),
    ['signed with another key', async () => clientCredentialsForm(await system.assertion({ key: otherKey })), 401, 'invalid_client', 'Invalid client_assertion JWT - the signature does not verify with the public key'],
    ['not a JWT', async () => clientCredentialsForm('not.a.jwt'), 400, 'invalid_request', 'Malformed JWT in client_assertion'],
    ['no assertion', async () => clientCredentialsForm('', { client_assertion: undefined }), 400, 'invalid_request', 'Missing client_assertion'],
    ['wrong assertion type', async () => clientCredentialsForm(await system.assertion(), { client_assertion_type: 'password' }), 400, 'invalid_request', "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'"],
    ['unknown grant type', async () => clientCredentialsForm(await system.assertion(), { grant_type: 'password' }), 400, 'unsupported_grant_type', 'grant_type is invalid'],
    ['no grant type', async () => clientCredentialsForm(await system.assertion(), { grant_type: undefined }), 400, 'invalid_request', 'grant_type is missing'],
  ];
  for (const [name, body, status, error, description] of cases) {
    const response = await requestToken(await body());
    assert.equal(response.statusCode, status, `${name}: ${response.body}`);
    assert.deepEqual(response.json(), { error, error_description: description }, name);
  }
});

test('a body the token endpoint cannot read is refused in the OAuth error shape, not as an OperationOutcome', async () => {
  const asText = await t.app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'text/plain' }, payload: 'grant_type=client_credentials' });
  assert.equal(asText.statusCode, 415);
  assert.deepEqual(asText.json(), { error: 'invalid_request', error_description: "Unsupported content type 'text/plain': send application/x-www-form-urlencoded" });
  const tooLarge = await t.app.inject({ method: 'POST', url: '/oauth2/token', headers: FORM, payload: `grant_type=${'x'.repeat(t.config.bodyLimit + 1)}` });
  assert.equal(tooLarge.statusCode, 413);
  assert.equal(tooLarge.json<{ error: string }>().error, 'invalid_request');
});

test('every token request is audited: issued, with the application; refused, with the reason', async () => {
  await requestToken(clientCredentialsForm(await system.assertion()));
  await requestToken(clientCredentialsForm(await system.assertion({ claims: { exp: undefined } })));
  const rows = (await auditRecords(t.db)).filter((record) => record.interaction === 'token').slice(-2);
  assert.deepEqual(rows.map((row) => row.outcome), ['success', 'failure']);
  assert.equal(rows[0]?.applicationId, system.applicationId);
  assert.equal(rows[1]?.detail, "invalid_request: Missing 'exp' claim in client_assertion JWT");
});

test('a jti can be used once: a replayed assertion is refused', async () => {
  const assertion = await system.assertion();
  assert.equal((await requestToken(clientCredentialsForm(assertion))).statusCode, 200);
  const replay = await requestToken(clientCredentialsForm(assertion));
  assert.equal(replay.statusCode, 400);
  assert.deepEqual(replay.json(), { error: 'invalid_request', error_description: "Non-unique 'jti' claim in client_assertion JWT" });
});

test('an application not allowed application-restricted access gets no such token', async () => {
  const clinical = await registerTestApplication(t, { accessModes: ['healthcare-worker'] });
  const response = await requestToken(clientCredentialsForm(await clinical.assertion()));
  assert.equal(response.statusCode, 401);
  assert.equal(response.json<{ error: string }>().error, 'unauthorized_client');
});

test("over the application's rate limit: 429 TOO_MANY_REQUESTS with Retry-After", async () => {
  const limited = await registerTestApplication(t, { accessModes: ['application-restricted'], rateLimitPerSecond: 3 });
  const token = (await requestToken(clientCredentialsForm(await limited.assertion()))).json<{ access_token: string }>().access_token;
  const statuses: number[] = [];
  let refused: { headers: Record<string, unknown>; body: string } | undefined;
  for (let index = 0; index < 6; index++) {
    const response = await t.app.inject({ method: 'GET', url: '/spine-directory/FHIR/R4/Organization', headers: { authorization: `Bearer ${token}` } });
    statuses.push(response.statusCode);
    if (response.statusCode === 429) refused = response;
  }
  assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
  assert.ok(statuses.includes(429), statuses.join());
  assert.equal(refused?.headers['retry-after'], '1');
  assert.match(refused?.body ?? '', /"code":"TOO_MANY_REQUESTS"/);
  const refusal = (await auditRecords(t.db)).findLast((record) => record.status === 429);
  assert.equal(refusal?.applicationId, limited.applicationId, 'the refusal is audited with the application refused');
  assert.equal(refusal?.actorMode, 'application-restricted');
});

test("token requests have their own budget at the application's rate limit: 429 in the OAuth shape, API calls unaffected", async () => {
  const limited = await registerTestApplication(t, { accessModes: ['application-restricted'], rateLimitPerSecond: 3 });
  const answers = [];
  for (let index = 0; index < 6; index++) answers.push(await requestToken(clientCredentialsForm(await limited.assertion())));
  assert.deepEqual(answers.slice(0, 3).map((answer) => answer.statusCode), [200, 200, 200]);
  const refused = answers.find((answer) => answer.statusCode === 429);
  assert.ok(refused, answers.map((answer) => answer.statusCode).join());
  assert.equal(refused.headers['retry-after'], '1');
  assert.deepEqual(refused.json(), { error: 'too_many_requests', error_description: "Too many token requests for the application's rate limit: reuse a token until it expires" });
  const token = answers[0]?.json<{ access_token: string }>().access_token;
  const read = await t.app.inject({ method: 'GET', url: '/spine-directory/FHIR/R4/Organization', headers: { authorization: `Bearer ${token}` } });
  assert.equal(read.statusCode, 200, 'the API budget is not spent by token requests');
  const refusal = (await auditRecords(t.db)).findLast((record) => record.status === 429 && record.interaction === 'token');
  assert.equal(refusal?.applicationId, limited.applicationId, 'the refusal is audited with the application refused');
});

test("assertions that fail their signature check do not spend the application's token budget: anyone can send them", async () => {
  const victim = await registerTestApplication(t, { accessModes: ['application-restricted'], rateLimitPerSecond: 3 });
  const { privateKey: forger } = await generateKeyPair('RS512');
  for (let index = 0; index < 6; index++) assert.equal((await requestToken(clientCredentialsForm(await victim.assertion({ key: forger })))).statusCode, 401);
  const genuine = [];
  for (let index = 0; index < 3; index++) genuine.push((await requestToken(clientCredentialsForm(await victim.assertion()))).statusCode);
  assert.deepEqual(genuine, [200, 200, 200]);
});

test("an application cannot be registered under the audience of OpenSpine's own tokens, whose ID tokens would pass for them", async () => {
  for (const applicationId of ['openspine-api', 'cis2-userinfo', 'nhs-login-userinfo']) {
    const response = await t.app.inject({
      method: 'PUT',
      url: `/identity/v1/applications/${applicationId}`,
      headers: { ...(await t.adminHeaders()), 'content-type': 'application/json' },
      payload: { name: 'Lookalike', accessModes: ['healthcare-worker'] },
    });
    assert.equal(response.statusCode, 400, `${applicationId}: ${response.body}`);
    assert.match(response.body, /audience of OpenSpine's own tokens/);
  }
});

test('an application is registered with public keys only: a JWKS holding a private key is refused', async () => {
  const { privateKey } = await generateKeyPair('RS512', { extractable: true });
  const response = await t.app.inject({
    method: 'PUT',
    url: '/identity/v1/applications/leaky-application',
    headers: { ...(await t.adminHeaders()), 'content-type': 'application/json' },
    payload: { name: 'Leaky', accessModes: ['application-restricted'], jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'leaked' }] } },
  });
  assert.equal(response.statusCode, 400, response.body);
  assert.match(response.body, /has private parts/);
});
