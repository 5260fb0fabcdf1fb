// The HTTP platform: NHS headers, the access decision, errors as OperationOutcomes, read-only
// mode, health, metrics and the CapabilityStatement.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { SignJWT, generateKeyPair } from 'jose';
import { buildTestApp } from '../../../test/support/app.ts';
import { pino } from 'pino';
import { createAuthenticator } from '../../identity/index.ts';
import { setReadOnly } from '../read-only.ts';
import { buildApp, type ServiceModule } from './app.ts';
import { waitFor } from '../../../test/support/wait.ts';

const BASE = '/spine-directory/FHIR/R4';
const ORGANISATION = { resourceType: 'Organization', name: 'Header Surgery' };
type Outcome = { resourceType: string; issue: { severity: string; code: string; details: { coding: { system: string; code: string }[] }; diagnostics: string }[] };
const codeOf = (body: string) => (JSON.parse(body) as Outcome).issue[0]?.details.coding[0]?.code;

const t = await buildTestApp();
const admin = await t.adminHeaders();

test('X-Request-ID and X-Correlation-ID are echoed; a request id that is not a UUID gets 400 INVALID_VALUE', async () => {
  const requestId = '60e0b220-8136-4ac5-9a5c-4a4d8e9c0a7a';
  const ok = await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { ...admin, 'x-request-id': requestId, 'x-correlation-id': 'corr-1' } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.headers['x-request-id'], requestId);
  assert.equal(ok.headers['x-correlation-id'], 'corr-1');

  const bad = await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { ...admin, 'x-request-id': '1234' } });
  assert.equal(bad.statusCode, 400);
  const outcome = bad.json<Outcome>();
  assert.equal(outcome.issue[0]?.code, 'value');
  assert.equal(outcome.issue[0]?.details.coding[0]?.system, 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode');
  assert.equal(outcome.issue[0]?.details.coding[0]?.code, 'INVALID_VALUE');
  assert.equal(outcome.issue[0]?.diagnostics, "Invalid value - '1234' in header 'X-Request-ID'");
  assert.equal(bad.headers['x-request-id'], '1234', 'echoed even when refused');
});

test('no token, a malformed, forged, expired or wrong-audience token gives 401; alg none too', async () => {
  const { privateKey } = await generateKeyPair('RS256');
  const forged = await new SignJWT({ mode: 'system', scope: 'openspine:admin' }).setProtectedHeader({ alg: 'RS256', kid: 'x' }).setIssuer('openspine').setAudience('openspine-api').setExpirationTime('5m').sign(privateKey);
  const genuine = await t.token();
  const [header = '', payload = ''] = genuine.split('.');
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
  const tampered = `${header}.${Buffer.from(JSON.stringify({ mode: 'system', scope: 'openspine:admin', iss: 'openspine', aud: 'openspine-api', exp: 9_999_999_999 })).toString('base64url')}.${genuine.split('.')[2] ?? ''}`;
  // Used first, so that the tampered token, which ends with the same signature, meets its cache entry.
  // The scheme in any case, then any whitespace: RFC 6750 section 2.1 (and RFC 9110's case-insensitive schemes).
  for (const authorization of [`Bearer ${genuine}`, `bearer ${genuine}`, `BEARER   ${genuine}  `, `Bearer\t${genuine}`]) {
    assert.equal((await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { authorization } })).statusCode, 200, authorization.slice(0, 12));
  }
  for (const authorization of [undefined, 'Bearer', 'Bearer   ', `Bearer${genuine}`, `Bearer${genuine} `, `Bearer ${genuine} ${genuine}`, 'Basic abc', 'Bearer not-a-jwt', `Bearer ${forged}`, `Bearer ${unsigned}`, `Bearer ${tampered}`]) {
    const response = await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: authorization ? { authorization } : {} });
    assert.equal(response.statusCode, 401, String(authorization));
    assert.equal(codeOf(response.body), 'ACCESS_DENIED');
  }
  const live = await t.token();
  const { db } = t;
  const { issueAccessToken } = await import('../../identity/index.ts');
  const shortLived = (await issueAccessToken(db, { actor: { mode: 'system', activityCodes: [] }, lifetimeSeconds: 1 })).accessToken;
  await new Promise((resolve) => setTimeout(resolve, 2100));
  assert.equal((await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { authorization: `Bearer ${shortLived}` } })).statusCode, 401, 'expired');
  assert.equal((await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { authorization: `Bearer ${live}` } })).statusCode, 200, 'a live token still works');
});

test('an oversized token is refused unread with 401, and a token in a header injection gets no further', async () => {
  const oversized = await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { authorization: `Bearer ${'a'.repeat(5000)}` } });
  assert.equal(oversized.statusCode, 401);
  const genuine = await t.token();
  const injected = await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { authorization: `Bearer ${genuine} extra` } });
  assert.equal(injected.statusCode, 401);
});

test('a valid caller without the right gets 403 ACCESS_DENIED', async () => {
  const reader = await t.token();
  const write = await t.app.inject({ method: 'POST', url: `${BASE}/Organization`, headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/fhir+json' }, payload: ORGANISATION });
  assert.equal(write.statusCode, 403);
  assert.equal(codeOf(write.body), 'ACCESS_DENIED');
  const patientToken = await t.token({ actor: { mode: 'patient', userId: '9000000009', activityCodes: [] } });
  const read = await t.app.inject({ method: 'GET', url: `${BASE}/Organization`, headers: { authorization: `Bearer ${patientToken}` } });
  assert.equal(read.statusCode, 403);
});

test('a route that declares no access rule cannot be registered', async () => {
  const undeclared: ServiceModule = { name: 'undeclared', register: (app) => void app.get('/open', async () => 'open') };
  const deps = { config: t.config, db: t.db, log: pino({ level: 'silent' }), authenticate: await createAuthenticator(t.db), audit: { record: async () => undefined }, readOnly: { isOn: () => false, close: async () => undefined } };
  await assert.rejects(buildApp({ ...deps, services: [undeclared] }), /declares no access rule/);
});

test("a request's address is its client's from X-Forwarded-For only behind a proxy named as trusted", async () => {
  const showsAddress: ServiceModule = { name: 'address', register: (app) => void app.get('/address', { config: { access: { public: true } } }, async (request) => request.ip) };
  const deps = { db: t.db, log: pino({ level: 'silent' }), authenticate: await createAuthenticator(t.db), audit: { record: async () => undefined }, readOnly: { isOn: () => false, close: async () => undefined }, services: [showsAddress] };
  const forwarded = { method: 'GET', url: '/address', remoteAddress: '10.1.0.2', headers: { 'x-forwarded-for': '203.0.113.9' } } as const;
  const untrusting = await buildApp({ ...deps, config: t.config });
  const behindBalancer = await buildApp({ ...deps, config: { ...t.config, trustedProxies: ['10.1.0.0/16'] } });
  try {
    assert.equal((await untrusting.inject(forwarded)).body, '10.1.0.2', 'the header is anyone’s to send');
    assert.equal((await behindBalancer.inject(forwarded)).body, '203.0.113.9');
    assert.equal((await behindBalancer.inject({ ...forwarded, remoteAddress: '192.0.2.1' })).body, '192.0.2.1', 'not from a proxy named');
  } finally {
    await untrusting.close();
    await behindBalancer.close();
  }
});

test('client mistakes are 4xx OperationOutcomes: bad JSON, wrong type, empty, unknown path and type, bad id', async () => {
  const cases: [string, InjectOptions, number, string][] = [
    ['malformed JSON', { method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: '{"resourceType":' }, 400, 'MESSAGE_NOT_WELL_FORMED'],
    ['prototype poisoning', { method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: '{"resourceType":"Organization","__proto__":{"x":1}}' }, 400, 'MESSAGE_NOT_WELL_FORMED'],
    ['empty body', { method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: '' }, 400, 'MESSAGE_NOT_WELL_FORMED'],
    ['wrong content type', { method: 'POST', url: `${BASE}/Organization`, headers: { ...admin, 'content-type': 'text/plain' }, payload: 'hello' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an array body', { method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: '[1]' }, 400, 'MESSAGE_NOT_WELL_FORMED'],
    ['resourceType mismatch', { method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: { resourceType: 'Device' } }, 400, 'INVALID_VALUE'],
    ['unknown resource type', { method: 'GET', url: `${BASE}/Nonsense/1`, headers: admin }, 404, 'UNSUPPORTED_REQUEST'],
    ['unknown path', { method: 'GET', url: '/no/such/path', headers: admin }, 404, 'UNSUPPORTED_REQUEST'],
    ['bad id', { method: 'GET', url: `${BASE}/Organization/${'x'.repeat(65)}`, headers: admin }, 400, 'INVALID_RESOURCE_ID'],
    ['bad id characters', { method: 'GET', url: `${BASE}/Organization/a_b`, headers: admin }, 400, 'INVALID_RESOURCE_ID'],
    ['unknown id', { method: 'GET', url: `${BASE}/Organization/00000000-0000-4000-8000-000000000000`, headers: admin }, 404, 'RESOURCE_NOT_FOUND'],
    ['bad version', { method: 'GET', url: `${BASE}/Organization/abc/_history/x`, headers: admin }, 400, 'INVALID_VALUE'],
    ['XML asked for', { method: 'GET', url: `${BASE}/Organization?_format=xml`, headers: admin }, 406, 'NOT_ACCEPTABLE'],
  ];
  for (const [name, request, status, code] of cases) {
    const response = await t.app.inject(request);
    assert.equal(response.statusCode, status, `${name}: ${response.body}`);
    assert.equal(response.headers['content-type'], 'application/fhir+json; charset=utf-8', name);
    assert.equal(codeOf(response.body), code, name);
  }
});

test('a missing resource is 404 RESOURCE_NOT_FOUND with severity information, as PDS answers', async () => {
  const response = await t.app.inject({ method: 'GET', url: `${BASE}/Organization/missing-one`, headers: admin });
  const outcome = response.json<Outcome>();
  assert.equal(outcome.issue[0]?.severity, 'information');
  assert.equal(outcome.issue[0]?.code, 'not-found');
});

test('an oversized body gets 413 PAYLOAD_TOO_LARGE', async () => {
  const name = 'x'.repeat(t.config.bodyLimit);
  const response = await t.app.inject({ method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: { resourceType: 'Organization', name } });
  assert.equal(response.statusCode, 413);
  assert.equal(codeOf(response.body), 'PAYLOAD_TOO_LARGE');
});

test('read-only mode: writes get 503 with Retry-After, reads go on, and it switches back', async () => {
  const created = await t.app.inject({ method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: ORGANISATION });
  const id = created.json<{ id: string }>().id;
  await setReadOnly(t.db, true);
  await waitFor(async () => (await t.app.inject({ method: 'GET', url: '/_status' })).json<{ readOnly: boolean }>().readOnly);
  try {
    const refused = await t.app.inject({ method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: ORGANISATION });
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '60');
    assert.equal(codeOf(refused.body), 'SERVICE_UNAVAILABLE');
    const deleteRefused = await t.app.inject({ method: 'DELETE', url: `${BASE}/Organization/${id}`, headers: admin });
    assert.equal(deleteRefused.statusCode, 503);
    const read = await t.app.inject({ method: 'GET', url: `${BASE}/Organization/${id}`, headers: admin });
    assert.equal(read.statusCode, 200);
  } finally {
    await setReadOnly(t.db, false);
  }
  await waitFor(async () => !(await t.app.inject({ method: 'GET', url: '/_status' })).json<{ readOnly: boolean }>().readOnly);
  const accepted = await t.app.inject({ method: 'POST', url: `${BASE}/Organization`, headers: admin, payload: ORGANISATION });
  assert.equal(accepted.statusCode, 201);
});

test('/_ping and /_status answer without a token; /_status checks the database', async () => {
  assert.equal((await t.app.inject({ method: 'GET', url: '/_ping' })).statusCode, 200);
  const status = await t.app.inject({ method: 'GET', url: '/_status' });
  assert.equal(status.statusCode, 200);
  const body = status.json<{ status: string; checks: { database: { status: string } }; sandbox: boolean; processes: number }>();
  assert.equal(body.checks.database.status, 'pass');
  assert.equal(body.sandbox, false);
  assert.equal(body.processes, 1, 'a process alone on its database');
});

test('/metrics exposes request latency per route, errors by code, the database pool and the audit trail', async () => {
  await t.app.inject({ method: 'GET', url: `${BASE}/Organization/missing-two`, headers: admin });
  const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /openspine_http_request_duration_seconds_count\{method="GET",route="\/spine-directory\/FHIR\/R4\/:type\/:id",status="404"\} \d+/);
  assert.match(metrics, /openspine_errors_total\{code="RESOURCE_NOT_FOUND",status="404"\} \d+/);
  assert.match(metrics, /openspine_database_pool_max \d+/);
  assert.match(metrics, /openspine_database_connections\{state="\w+"\} \d+/);
  assert.match(metrics, /openspine_audit_append_seconds_count\{how="[\w-]+"\} \d+/, 'the audit trail\'s own figures');
  assert.match(metrics, /openspine_audit_pending_records \d+/);
});

test('the CapabilityStatement lists what is implemented, without a token', async () => {
  const response = await t.app.inject({ method: 'GET', url: `${BASE}/metadata` });
  assert.equal(response.statusCode, 200);
  const statement = response.json<{ resourceType: string; fhirVersion: string; rest: { resource: { type: string; searchParam: { name: string }[] }[] }[] }>();
  assert.equal(statement.resourceType, 'CapabilityStatement');
  assert.equal(statement.fhirVersion, '4.0.1');
  const organisation = statement.rest[0]?.resource.find((resource) => resource.type === 'Organization');
  assert.deepEqual(organisation?.searchParam.map((param) => param.name), ['_id', '_lastUpdated', 'identifier', 'name', 'type', 'active', 'address-postalcode', 'partof']);
});

test('sandbox mode needs no token and says so on /_status', async () => {
  const sandbox = await buildTestApp({ sandbox: true });
  const response = await sandbox.app.inject({ method: 'GET', url: `${BASE}/Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|A83008` });
  assert.equal(response.statusCode, 200);
  assert.equal(response.json<{ entry: unknown[] }>().entry.length, 1, 'the demo GP practice is seeded');
  const status = (await sandbox.app.inject({ method: 'GET', url: '/_status' })).json<{ sandbox: boolean; warning: string }>();
  assert.equal(status.sandbox, true);
  assert.match(status.warning, /SANDBOX/);
});
