// The versioned resource store through its HTTP API: create, read, vread, update with If-Match,
// JSON Patch, delete, history and transaction bundles, against a real PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { buildTestApp, type TestApp } from '../../../test/support/app.ts';

const BASE = '/spine-directory/FHIR/R4';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

type Stored = { id: string; name?: string; meta: { versionId: string; lastUpdated: string }; alias?: string[] };
type Outcome = { resourceType: string; issue: { severity: string; code: string; details?: { coding?: { code: string }[] }; diagnostics?: string }[] };

const odsCode = () => `T${randomBytes(3).toString('hex').toUpperCase()}`;
const organisation = (name: string, ods = odsCode()) => ({ resourceType: 'Organization', name, identifier: [{ system: ODS, value: ods }] });
const spineCode = (body: Outcome) => body.issue[0]?.details?.coding?.[0]?.code;

async function create(t: TestApp, resource: object): Promise<Stored> {
  const response = await t.app.inject({ method: 'POST', url: `${BASE}/Organization`, headers: await t.adminHeaders(), payload: resource });
  assert.equal(response.statusCode, 201, response.body);
  return response.json<Stored>();
}

test('a created resource reads back with its version, ETag and Last-Modified', async () => {
  const t = await buildTestApp();
  const created = await create(t, organisation('Alpha Surgery'));
  assert.equal(created.meta.versionId, '1');
  const read = await t.app.inject({ method: 'GET', url: `${BASE}/Organization/${created.id}`, headers: await t.adminHeaders() });
  assert.equal(read.statusCode, 200);
  assert.equal(read.headers.etag, 'W/"1"');
  assert.equal(read.headers['content-type'], 'application/fhir+json; charset=utf-8');
  assert.equal(read.headers['last-modified'], new Date(created.meta.lastUpdated).toUTCString());
  assert.equal(read.json<Stored>().name, 'Alpha Surgery');
});

test('reads made together (gathered into one statement) each get their own resource, or 404', async () => {
  const t = await buildTestApp();
  const headers = await t.adminHeaders();
  const created = await Promise.all(Array.from({ length: 30 }, (_, n) => create(t, organisation(`Read Together ${n}`))));
  const ids = [...created.map((resource) => resource.id), '00000000-0000-4000-8000-000000000000'];
  const reads = await Promise.all(ids.map((id) => t.app.inject({ method: 'GET', url: `${BASE}/Organization/${id}`, headers })));
  created.forEach((resource, n) => {
    assert.equal(reads[n]?.statusCode, 200);
    assert.equal(reads[n]?.json<Stored>().id, resource.id);
    assert.equal(reads[n]?.json<Stored>().name, `Read Together ${n}`);
  });
  assert.equal(reads.at(-1)?.statusCode, 404);
});

test('update needs the current version in If-Match: stale gives 409, missing or malformed gives 412', async () => {
  const t = await buildTestApp();
  const headers = await t.adminHeaders();
  const created = await create(t, organisation('Beta Surgery'));
  const url = `${BASE}/Organization/${created.id}`;
  const changed = { ...created, name: 'Beta Health Centre' };

  const updated = await t.app.inject({ method: 'PUT', url, headers: { ...headers, 'if-match': 'W/"1"' }, payload: changed });
  assert.equal(updated.statusCode, 200, updated.body);
  assert.equal(updated.headers.etag, 'W/"2"');
  assert.equal(updated.json<Stored>().meta.versionId, '2');

  const stale = await t.app.inject({ method: 'PUT', url, headers: { ...headers, 'if-match': 'W/"1"' }, payload: { ...changed, name: 'Lost update' } });
  assert.equal(stale.statusCode, 409);
  assert.equal(spineCode(stale.json<Outcome>()), 'RESOURCE_VERSION_MISMATCH');

  for (const ifMatch of [undefined, '1', '"2"', 'W/"two"']) {
    const response = await t.app.inject({ method: 'PUT', url, headers: ifMatch ? { ...headers, 'if-match': ifMatch } : headers, payload: changed });
    assert.equal(response.statusCode, 412, `If-Match ${String(ifMatch)}`);
    assert.equal(spineCode(response.json<Outcome>()), 'PRECONDITION_FAILED');
  }
  const current = await t.app.inject({ method: 'GET', url, headers });
  assert.equal(current.json<Stored>().name, 'Beta Health Centre');
});

test('two updates racing from the same version: exactly one wins, the other gets 409', async () => {
  const t = await buildTestApp();
  const headers = { ...(await t.adminHeaders()), 'if-match': 'W/"1"' };
  const created = await create(t, organisation('Race Surgery'));
  const url = `${BASE}/Organization/${created.id}`;
  const responses = await Promise.all(
    ['First', 'Second', 'Third', 'Fourth'].map((name) => t.app.inject({ method: 'PUT', url, headers, payload: { ...created, name } })),
  );
  assert.deepEqual(responses.map((response) => response.statusCode).sort(), [200, 409, 409, 409]);
});

test('vread returns each version; history lists them newest first', async () => {
  const t = await buildTestApp();
  const headers = await t.adminHeaders();
  const created = await create(t, organisation('Gamma v1'));
  const url = `${BASE}/Organization/${created.id}`;
  await t.app.inject({ method: 'PUT', url, headers: { ...headers, 'if-match': 'W/"1"' }, payload: { ...created, name: 'Gamma v2' } });

  const first = await t.app.inject({ method: 'GET', url: `${url}/_history/1`, headers });
  assert.equal(first.json<Stored>().name, 'Gamma v1');
  assert.equal(first.headers.etag, 'W/"1"');
  const missing = await t.app.inject({ method: 'GET', url: `${url}/_history/3`, headers });
  assert.equal(missing.statusCode, 404);

  const history = await t.app.inject({ method: 'GET', url: `${url}/_history`, headers });
  const bundle = history.json<{ type: string; entry: { resource: Stored; response: { etag: string } }[] }>();
  assert.equal(bundle.type, 'history');
  assert.deepEqual(bundle.entry.map((entry) => entry.resource.name), ['Gamma v2', 'Gamma v1']);
  assert.deepEqual(bundle.entry.map((entry) => entry.response.etag), ['W/"2"', 'W/"1"']);

  const typeHistory = await t.app.inject({ method: 'GET', url: `${BASE}/Organization/_history?_count=1`, headers });
  assert.equal(typeHistory.json<{ entry: unknown[] }>().entry.length, 1);
});

test('JSON Patch applies every operation or none; a failed test changes nothing', async () => {
  const t = await buildTestApp();
  const headers = { ...(await t.adminHeaders()), 'content-type': 'application/json-patch+json' };
  const created = await create(t, organisation('Delta Surgery'));
  const url = `${BASE}/Organization/${created.id}`;

  const patched = await t.app.inject({
    method: 'PATCH',
    url,
    headers: { ...headers, 'if-match': 'W/"1"' },
    payload: [
      { op: 'test', path: '/name', value: 'Delta Surgery' },
      { op: 'replace', path: '/name', value: 'Delta Medical Centre' },
      { op: 'add', path: '/alias', value: ['Delta'] },
    ],
  });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json<Stored>().meta.versionId, '2');

  const failedTest = await t.app.inject({
    method: 'PATCH',
    url,
    headers: { ...headers, 'if-match': 'W/"2"' },
    payload: { patches: [{ op: 'replace', path: '/name', value: 'Should not stay' }, { op: 'test', path: '/name', value: 'Not the name' }] },
  });
  assert.equal(failedTest.statusCode, 400);
  assert.equal(spineCode(failedTest.json<Outcome>()), 'INVALID_UPDATE');

  for (const payload of [[], { patches: [] }, [{ op: 'replace', path: '/id', value: 'other' }], [{ op: 'remove', path: '/nothing' }]]) {
    const response = await t.app.inject({ method: 'PATCH', url, headers: { ...headers, 'if-match': 'W/"2"' }, payload });
    assert.equal(response.statusCode, 400, JSON.stringify(payload));
    assert.equal(spineCode(response.json<Outcome>()), 'INVALID_UPDATE');
  }
  const invalidResult = await t.app.inject({ method: 'PATCH', url, headers: { ...headers, 'if-match': 'W/"2"' }, payload: [{ op: 'replace', path: '/name', value: 42 }] });
  assert.equal(invalidResult.statusCode, 400);

  const current = await t.app.inject({ method: 'GET', url, headers });
  assert.equal(current.json<Stored>().name, 'Delta Medical Centre');
  assert.equal(current.headers.etag, 'W/"2"');
});

test('a deleted resource answers 410, leaves search, and keeps its history', async () => {
  const t = await buildTestApp();
  const headers = await t.adminHeaders();
  const ods = odsCode();
  const created = await create(t, organisation('Epsilon Surgery', ods));
  const url = `${BASE}/Organization/${created.id}`;

  assert.equal((await t.app.inject({ method: 'DELETE', url, headers })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'DELETE', url, headers })).statusCode, 200, 'deleting twice is harmless');
  const gone = await t.app.inject({ method: 'GET', url, headers });
  assert.equal(gone.statusCode, 410);
  const search = await t.app.inject({ method: 'GET', url: `${BASE}/Organization?identifier=${encodeURIComponent(`${ODS}|${ods}`)}`, headers });
  assert.equal(search.json<{ entry: unknown[] }>().entry.length, 0);
  const history = await t.app.inject({ method: 'GET', url: `${url}/_history`, headers });
  assert.deepEqual(history.json<{ entry: { request: { method: string } }[] }>().entry.map((entry) => entry.request.method), ['DELETE', 'POST']);
  const unknown = await t.app.inject({ method: 'DELETE', url: `${BASE}/Organization/no-such-id`, headers });
  assert.equal(unknown.statusCode, 404);
});

test('a transaction bundle is all or nothing, and resolves references between its entries', async () => {
  const t = await buildTestApp();
  const headers = await t.adminHeaders();
  const parentOds = odsCode();
  const good = await t.app.inject({
    method: 'POST',
    url: BASE,
    headers,
    payload: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:6f1c8e0e-7c4e-4a4e-9b7e-0a1b2c3d4e5f', request: { method: 'POST', url: 'Organization' }, resource: organisation('Parent Trust', parentOds) },
        { request: { method: 'POST', url: 'Organization' }, resource: { ...organisation('Child Site'), partOf: { reference: 'urn:uuid:6f1c8e0e-7c4e-4a4e-9b7e-0a1b2c3d4e5f' } } },
      ],
    },
  });
  assert.equal(good.statusCode, 200, good.body);
  const locations = good.json<{ type: string; entry: { response: { status: string; location: string } }[] }>();
  assert.equal(locations.type, 'transaction-response');
  const parentId = locations.entry[0]?.response.location.split('/').at(-3);
  const children = await t.app.inject({ method: 'GET', url: `${BASE}/Organization?partof=Organization/${parentId}`, headers });
  assert.deepEqual(children.json<{ entry: { resource: Stored }[] }>().entry.map((entry) => entry.resource.name), ['Child Site']);

  const doomedOds = odsCode();
  const bad = await t.app.inject({
    method: 'POST',
    url: BASE,
    headers,
    payload: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Organization' }, resource: organisation('Never stored', doomedOds) },
        { request: { method: 'POST', url: 'Organization' }, resource: { resourceType: 'Organization', name: 7 } },
      ],
    },
  });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json<Outcome>().issue[0]?.diagnostics ?? '', /^Bundle\.entry\[1\]/);
  const search = await t.app.inject({ method: 'GET', url: `${BASE}/Organization?identifier=${encodeURIComponent(`${ODS}|${doomedOds}`)}`, headers });
  assert.equal(search.json<{ entry: unknown[] }>().entry.length, 0, 'the first entry was rolled back with the second');
});

test('validation reports every problem of a resource at once, with FHIRPath expressions', async () => {
  const t = await buildTestApp();
  const response = await t.app.inject({
    method: 'POST',
    url: `${BASE}/Organization`,
    headers: await t.adminHeaders(),
    payload: { resourceType: 'Organization', name: 5, colour: 'blue', identifier: [{ system: ODS, value: 'not an ods code' }] },
  });
  assert.equal(response.statusCode, 400);
  const outcome = response.json<{ issue: { expression?: string[] }[] }>();
  const expressions = outcome.issue.flatMap((issue) => issue.expression ?? []);
  assert.ok(expressions.includes('Organization.name'), expressions.join());
  assert.ok(expressions.includes('Organization.colour'), expressions.join());
  assert.ok(expressions.includes('Organization.identifier[0].value'), expressions.join());
});
