import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, releaseParameters } from './test-kit.ts';

// fhir-dispensing.yaml, parameter RequestID: required in all environments except sandbox, a UUID in
// lower case, mirrored back; a retry re-sends the same value.
const t = await buildTestApp();
const pharmacist = await createPharmacist(t, 'FCG71');
const codeOf = (body: OperationOutcome) => body.issue[0]?.details?.coding?.[0]?.code;
const releaseWith = (requestId: string | undefined, app = t.app) => {
  const headers: Record<string, string> = { ...pharmacist.headers };
  delete headers['x-request-id'];
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return app.inject({ method: 'POST', url: `${EPS_BASE}/Task/$release`, headers, payload: releaseParameters(pharmacist.ods) });
};

test('every EPS request needs an X-Request-ID, a UUID in lower case, echoed back; the same one again is a retry, not refused', async () => {
  const missing = await releaseWith(undefined);
  assert.equal(missing.statusCode, 400);
  assert.equal(codeOf(missing.json()), 'MISSING_VALUE');
  assert.match(missing.json<OperationOutcome>().issue[0]?.diagnostics ?? '', /X-Request-ID/);

  const notUuid = await releaseWith('not-a-uuid');
  assert.equal(notUuid.statusCode, 400);
  assert.equal(codeOf(notUuid.json()), 'INVALID_VALUE');
  const upper = await releaseWith(randomUUID().toUpperCase());
  assert.equal(upper.statusCode, 400);
  assert.equal(codeOf(upper.json()), 'INVALID_VALUE');
  assert.match(upper.json<OperationOutcome>().issue[0]?.diagnostics ?? '', /lower case/);

  const requestId = randomUUID();
  const accepted = await releaseWith(requestId);
  assert.equal(accepted.statusCode, 200, accepted.body);
  assert.equal(accepted.headers['x-request-id'], requestId);
  assert.equal((await releaseWith(requestId)).statusCode, 200, 'a retry with the same id');

  const tracker = await t.app.inject({ method: 'GET', url: `${EPS_BASE}/Task?focus:identifier=A0548B-A99968-451485`, headers: { authorization: pharmacist.headers.authorization ?? '' } });
  assert.equal(codeOf(tracker.json()), 'MISSING_VALUE', 'the tracker too');
});

test('the sandbox does not require it', async () => {
  const sandbox = await buildTestApp({ sandbox: true });
  const response = await sandbox.app.inject({ method: 'POST', url: `${EPS_BASE}/Task/$release`, headers: { 'content-type': 'application/fhir+json' }, payload: releaseParameters('FCG71') });
  assert.notEqual(codeOf(response.json()), 'MISSING_VALUE', response.body);
});
