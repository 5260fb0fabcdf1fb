import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../../../test/support/app.ts';

const BASE = '/spine-directory/FHIR/R4';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

test('a created resource reads back with its version, ETag and Last-Modified', async () => {
  const { app, adminHeaders } = await buildTestApp();
  const headers = await adminHeaders();
  const created = await app.inject({ method: 'POST', url: `${BASE}/Organization`, headers, payload: { resourceType: 'Organization', name: 'Alpha Surgery', identifier: [{ system: ODS, value: 'Y00001' }] } });
  assert.equal(created.statusCode, 201, created.body);
  const body = created.json<{ id: string; meta: { versionId: string } }>();
  assert.equal(body.meta.versionId, '1');
  assert.equal(created.headers.location, `http://openspine.test${BASE}/Organization/${body.id}/_history/1`);
  const read = await app.inject({ method: 'GET', url: `${BASE}/Organization/${body.id}`, headers });
  assert.equal(read.statusCode, 200);
  assert.equal(read.headers.etag, 'W/"1"');
  assert.ok(read.headers['last-modified']);
  assert.equal(read.json<{ name: string }>().name, 'Alpha Surgery');
});
