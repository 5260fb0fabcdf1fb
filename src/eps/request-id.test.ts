import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Bundle, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { forgetOldRequests, REQUEST_RETENTION_MS } from './request-log.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, createPrescriber, freshPrescription, loadExample, prescribe, randomPharmacyOds, releaseParameters, signThroughPrepare } from './test-kit.ts';

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

// fhir-prescribing.yaml, X-Request-ID: "used to de-duplicate repeated requests".
const ACUTE = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';
const prescriber = await createPrescriber(t);
const countOf = async (table: 'eps_prescription' | 'eps_event', shortId: string, event?: string) => {
  const [row] = table === 'eps_event' && event
    ? await t.db<{ count: number }[]>`select count(*)::int as count from eps_event where short_id = ${shortId} and event = ${event}`
    : await t.db<{ count: number }[]>`select count(*)::int as count from ${t.db(table)} where short_id = ${shortId}`;
  return row?.count;
};

test('an order retried with its X-Request-ID is stored once and answered as the first time; the same order with a new X-Request-ID is a duplicate', async () => {
  const fresh = freshPrescription(loadExample(ACUTE), prescriber);
  const signed = await signThroughPrepare(t, fresh.bundle, prescriber.headers);
  const headers = { ...prescriber.headers, 'x-request-id': randomUUID() };
  const send = (payload: Bundle, withHeaders = headers) => t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: withHeaders, payload });

  const first = await send(signed);
  assert.equal(first.statusCode, 200, first.body);
  const retried = await send(signed);
  assert.equal(retried.statusCode, 200, retried.body);
  assert.deepEqual(retried.json(), first.json(), 'the first answer again');
  assert.equal(await countOf('eps_prescription', fresh.shortId), 1);
  assert.equal(await countOf('eps_event', fresh.shortId, 'prescribed'), 1);

  const anew = await send(signed, { ...prescriber.headers, 'x-request-id': randomUUID() });
  assert.equal(codeOf(anew.json()), 'DUPLICATE_PRESCRIPTION_ID', 'a new request for the same prescription');

  const other = freshPrescription(loadExample(ACUTE), prescriber);
  const reused = await send(await signThroughPrepare(t, other.bundle, prescriber.headers));
  assert.equal(reused.statusCode, 400);
  assert.equal(codeOf(reused.json()), 'INVALID_VALUE', 'an X-Request-ID reused for a different request');
  assert.equal(await countOf('eps_prescription', other.shortId), 0, 'and nothing of it stored');
});

test('identical releases at the same moment under one X-Request-ID release the prescription once, and each gets that one answer', async () => {
  const ods = randomPharmacyOds();
  const pharmacy = await createPharmacist(t, ods);
  const { shortId } = await prescribe(t, prescriber, loadExample(ACUTE), { nominatedOds: ods });
  const headers = { ...pharmacy.headers, 'x-request-id': randomUUID() };
  const releaseOnce = () => t.app.inject({ method: 'POST', url: `${EPS_BASE}/Task/$release`, headers, payload: releaseParameters(ods, shortId) });
  const passedIds = (body: Parameters) => JSON.stringify((body.parameter?.[0]?.resource as Bundle).entry?.map((entry) => (entry.resource as Bundle).identifier?.value));

  const answers = await Promise.all(Array.from({ length: 6 }, releaseOnce));
  assert.deepEqual(answers.map((answer) => answer.statusCode), answers.map(() => 200), answers.map((answer) => answer.body).join('\n'));
  const [firstReleased] = answers;
  assert.ok(firstReleased);
  assert.equal(new Set(answers.map((answer) => passedIds(answer.json()))).size, 1, 'one answer, given to each');
  assert.equal((firstReleased.json<Parameters>().parameter?.[0]?.resource as Bundle).total, 1);
  assert.equal(await countOf('eps_event', shortId, 'released'), 1, 'released once');

  const retried = await releaseOnce();
  assert.equal(retried.statusCode, 200);
  assert.deepEqual(retried.json(), firstReleased.json(), 'the first answer again, whole');
  for (const answer of answers) assert.deepEqual(answer.json(), firstReleased.json());

  // The signed message is not kept a second time for retries: what the answer is rebuilt from is.
  const [stored] = await t.db<{ kept: boolean; size: number }[]>`select kept, length(response::text) as size from eps_request where request_id = ${headers['x-request-id']}`;
  assert.equal(stored?.kept, true);
  assert.ok((stored?.size ?? Infinity) < firstReleased.body.length / 5, `${stored?.size} bytes kept for an answer of ${firstReleased.body.length}`);
});

test('the sweep forgets X-Request-IDs a day old, and keeps the recent ones', async () => {
  const now = new Date();
  const [old, recent] = [randomUUID(), randomUUID()];
  await t.db`insert into eps_request (request_id, user_id, interaction, body_sha256, created_at) values
    (${old}, 'u', 'claim', 'h', ${new Date(now.getTime() - REQUEST_RETENTION_MS - 1000)}), (${recent}, 'u', 'claim', 'h', ${new Date(now.getTime() - 1000)})`;
  assert.ok((await forgetOldRequests(t.db, now)) >= 1);
  const kept = await t.db<{ request_id: string }[]>`select request_id from eps_request where request_id in (${old}, ${recent})`;
  assert.deepEqual(kept.map((row) => row.request_id), [recent]);
});
