// Bodies that are JSON but not the shape a resource, bundle or patch has (a null where an entry,
// an identifier or an operation is; a string where a list is) are the client's mistake: a 4xx
// OperationOutcome from the FHIR platform and PDS, never a 500, and nothing written.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { PDS_BASE } from '../src/pds/routes.ts';
import { buildTestApp } from './support/app.ts';

const DIRECTORY = '/spine-directory/FHIR/R4';
const t = await buildTestApp({ sandbox: true });
const send = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method, url, payload: payload as object, headers: { 'x-request-id': randomUUID(), 'content-type': 'application/fhir+json', ...headers } });

test('malformed resources, bundles and patches get a 4xx OperationOutcome and change nothing', async () => {
  const created = await send('POST', `${DIRECTORY}/Organization`, { resourceType: 'Organization', name: 'Before' });
  assert.equal(created.statusCode, 201, created.body);
  const id = created.json<{ id: string }>().id;
  const patch = { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' };
  const cases: [string, Promise<Awaited<ReturnType<typeof send>>>][] = [
    ['create with a null identifier', send('POST', `${DIRECTORY}/Organization`, { resourceType: 'Organization', identifier: [null] })],
    ['update with a null identifier', send('PUT', `${DIRECTORY}/Organization/${id}`, { resourceType: 'Organization', id, identifier: [null] }, { 'if-match': 'W/"1"' })],
    ['patch with a null operation', send('PATCH', `${DIRECTORY}/Organization/${id}`, [null], patch)],
    ['patch with a string for its operations', send('PATCH', `${DIRECTORY}/Organization/${id}`, { patches: 'replace' }, patch)],
    ['transaction with a null entry', send('POST', DIRECTORY, { resourceType: 'Bundle', type: 'transaction', entry: [null] })],
    ['transaction with a string for its entries', send('POST', DIRECTORY, { resourceType: 'Bundle', type: 'transaction', entry: 'x' })],
    ['PDS patch with a null operation', send('PATCH', `${PDS_BASE}/Patient/9000000009`, { patches: [null] }, { ...patch, 'if-match': 'W/"2"' })],
  ];
  for (const [name, answer] of cases) {
    const response = await answer;
    assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${name}: ${response.statusCode} ${response.body}`);
    assert.equal(response.json<{ resourceType: string }>().resourceType, 'OperationOutcome', name);
  }
  const after = await t.app.inject({ method: 'GET', url: `${DIRECTORY}/Organization/${id}` });
  assert.equal(after.json<{ name: string; meta: { versionId: string } }>().meta.versionId, '1', 'nothing was written');
});
