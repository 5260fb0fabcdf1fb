import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bundle, OperationOutcome, Task } from '@medplum/fhirtypes';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildTestApp } from '../../test/support/app.ts';
import { expiryOf, sweepExpired } from './expiry.ts';
import { createEpsService } from './index.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, createPrescriber, freshPrescription, loadExample, prescribe, randomPharmacyOds, releaseParameters, type Staff } from './test-kit.ts';
import { waitFor } from '../../test/support/wait.ts';
import { ALONE } from '../platform/cluster.ts';

const t = await buildTestApp();
const prescriber = await createPrescriber(t);
const ACUTE = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';
const ERD = 'spec/prescribing/prescription-order/eRD-primary-example-req.json';
const DAY = 24 * 60 * 60 * 1000;
const codeOf = (body: OperationOutcome) => body.issue[0]?.details?.coding?.[0]?.code;
const post = (url: string, staff: Staff, payload: unknown) => t.app.inject({ method: 'POST', url: `${EPS_BASE}${url}`, headers: staff.headers, payload: payload as object });
const release = (staff: Staff, shortId?: string) => post('/Task/$release', staff, releaseParameters(staff.ods, shortId));

async function prescribeFrom(file: string, ods: string | null, validFrom?: Date) {
  const { response, shortId, nhsNumber } = await prescribe(t, prescriber, loadExample(file), { nominatedOds: ods, ...(validFrom ? { validFrom } : {}) });
  assert.equal(response.statusCode, 200, response.body);
  return { shortId, nhsNumber };
}
async function issueStatuses(shortId: string): Promise<string[]> {
  return (await t.db<{ status: string }[]>`select status from eps_issue where short_id = ${shortId} order by issue_number`).map((row) => row.status);
}
async function expiresAt(shortId: string): Promise<Date | undefined> {
  return (await t.db<{ expires_at: Date }[]>`select expires_at from eps_prescription where short_id = ${shortId}`)[0]?.expires_at;
}

test('when a prescription expires: its validityPeriod.end; eRD the authorisation expiry; else six months (twelve for eRD) from its start', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const order = { courseOfTherapy: 'acute', validUntil: undefined, validFrom: undefined, authorisationExpiry: undefined } as const;
  assert.equal(expiryOf({ ...order, validUntil: '2026-04-01T23:59:59Z' }, now).toISOString(), '2026-04-01T23:59:59.000Z');
  assert.equal(expiryOf({ ...order, validFrom: '2026-01-31' }, now).toISOString(), '2026-07-31T23:59:59.000Z');
  assert.equal(expiryOf(order, now).toISOString(), '2026-09-10T23:59:59.000Z');
  const erd = { ...order, courseOfTherapy: 'continuous-repeat-dispensing' } as const;
  // An eRD validityPeriod is one issue's: the authorisation runs to authorisationExpiryDate.
  assert.equal(expiryOf({ ...erd, validUntil: '2026-04-01', authorisationExpiry: '2027-01-15' }, now).toISOString(), '2027-01-15T23:59:59.000Z');
  assert.equal(expiryOf({ ...erd, validUntil: '2026-04-01', validFrom: '2026-03-01' }, now).toISOString(), '2027-03-01T23:59:59.000Z');
});

test('the sweep, its clock driven forward, expires prescriptions past their validity (0004, items 0006), eRD future issues too; expired ones cannot be released and cancel gives R-0005', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  // The example the cancellation example cancels, so that the cancel names its items.
  const acute = await prescribeFrom('primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations/1-Process-Request-Send-200_OK.json', null);
  const erd = await prescribeFrom(ERD, ods);
  const acuteEnd = await expiresAt(acute.shortId);
  assert.ok(acuteEnd && acuteEnd.getTime() > Date.now(), 'made current, the example is valid now');

  await sweepExpired({ db: t.db, now: () => new Date() });
  assert.deepEqual(await issueStatuses(acute.shortId), ['0001']);
  await sweepExpired({ db: t.db, now: () => new Date(acuteEnd.getTime() + 1000) });
  assert.deepEqual(await issueStatuses(acute.shortId), ['0004']);
  assert.deepEqual(await issueStatuses(erd.shortId), ['0001', '9000', '9000', '9000', '9000', '9000', '9000'], 'the eRD authorisation runs for a year');
  const items = await t.db<{ status: string }[]>`select status from eps_line_item where short_id = ${acute.shortId}`;
  assert.deepEqual([...new Set(items.map((item) => item.status))], ['0006']);
  const [event] = await t.db<{ event: string; status: string }[]>`select event, status from eps_event where short_id = ${acute.shortId} order by id desc limit 1`;
  assert.deepEqual({ ...event }, { event: 'expired', status: '0004' });

  const tracked = await t.app.inject({ method: 'GET', url: `${EPS_BASE}/Task?focus:identifier=${encodeURIComponent(acute.shortId)}`, headers: prescriber.headers });
  const task = tracked.json<Bundle>().entry?.[0]?.resource as Task;
  assert.equal(task.businessStatus?.coding?.[0]?.code, '0004');
  assert.equal(task.status, 'failed');
  const refused = await release(pharmacist, acute.shortId);
  assert.equal(refused.statusCode, 400);
  assert.equal(codeOf(refused.json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');

  const cancelTemplate = loadExample<Bundle>('primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations/1-Process-Request-Cancel-200_OK.json');
  const cancelled = await post('/$process-message', prescriber, freshPrescription(cancelTemplate, prescriber, { shortId: acute.shortId, nhsNumber: acute.nhsNumber }).bundle);
  const result = cancelled.json<Bundle>().entry?.flatMap((entry) => (entry.resource?.resourceType === 'MedicationRequest' ? entry.resource.extension ?? [] : [])).find((extension) => extension.url.endsWith('PrescriptionStatusHistory'));
  assert.equal(result?.extension?.[0]?.valueCoding?.code, 'R-0005');

  // A year on, the eRD authorisation has ended: the issue to be dispensed and every future one expire.
  const erdEnd = await expiresAt(erd.shortId);
  assert.ok(erdEnd);
  await sweepExpired({ db: t.db, now: () => new Date(erdEnd.getTime() + 1000) });
  assert.deepEqual(await issueStatuses(erd.shortId), Array.from({ length: 7 }, () => '0004'));
  assert.equal(codeOf((await release(pharmacist)).json()), 'NO_MORE_PRESCRIPTIONS');
});

test('a prescription past its validity is not released even before the sweep reaches it: it expires there and then', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  const longAgo = new Date(Date.now() - 400 * DAY);
  const nominated = await prescribeFrom(ACUTE, ods, longAgo);
  assert.deepEqual(await issueStatuses(nominated.shortId), ['0001']);
  assert.equal(codeOf((await release(pharmacist)).json()), 'NO_MORE_PRESCRIPTIONS', 'nominated release passes it by');
  const byId = await release(pharmacist, nominated.shortId);
  assert.equal(byId.statusCode, 400);
  assert.equal(codeOf(byId.json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  assert.match(byId.json<OperationOutcome>().issue[0]?.diagnostics ?? '', /expired/);
  assert.deepEqual(await issueStatuses(nominated.shortId), ['0004']);
});

test('the sweep works in bounded batches, and sweeps running at once share the work: each issue expires once', async () => {
  const longAgo = new Date(Date.now() - 400 * DAY);
  const ids = [];
  for (let i = 0; i < 9; i++) ids.push((await prescribeFrom(ACUTE, null, longAgo)).shortId);
  const counts = await Promise.all([1, 2, 3].map(() => sweepExpired({ db: t.db, now: () => new Date(), batch: 2 })));
  assert.equal(counts.reduce((sum, count) => sum + count, 0), 9, `the sweeps expired ${counts.join(' + ')}`);
  const rows = await t.db<{ short_id: string; n: number }[]>`select short_id, count(*)::int as n from eps_event where event = 'expired' and short_id = any(${ids}::text[]) group by short_id`;
  assert.equal(rows.length, 9);
  assert.ok(rows.every((row) => row.n === 1));
  assert.equal(await sweepExpired({ db: t.db, now: () => new Date() }), 0);
});

test("the server's timer sweeps with nobody calling it, and stops when the server closes", async () => {
  const first = await prescribeFrom(ACUTE, null);
  const end = await expiresAt(first.shortId);
  assert.ok(end);
  // A second server on the same database, its clock past the prescription's expiry and its sweep every 20 ms.
  const server = Fastify();
  await createEpsService({ now: () => new Date(end.getTime() + 1000), sweepIntervalMs: 20 }).register(server, { db: t.db, config: t.config, log: pino({ level: 'silent' }), metrics: new Registry(), cluster: ALONE });
  await server.ready();
  await waitFor(async () => (await issueStatuses(first.shortId))[0] === '0004');
  await server.close();
  const second = await prescribeFrom(ACUTE, null);
  await new Promise((resolve) => setTimeout(resolve, 200)); // ten intervals of a timer that must be gone
  assert.deepEqual(await issueStatuses(second.shortId), ['0001']);
});

test('without an interval given, the server sweeps every OPENSPINE_EPS_SWEEP_SECONDS', async () => {
  const prescribed = await prescribeFrom(ACUTE, null);
  const end = await expiresAt(prescribed.shortId);
  assert.ok(end);
  const server = Fastify();
  await createEpsService({ now: () => new Date(end.getTime() + 1000) }).register(server, { db: t.db, config: { ...t.config, epsSweepSeconds: 1 }, log: pino({ level: 'silent' }), metrics: new Registry(), cluster: ALONE });
  await server.ready();
  try {
    await waitFor(async () => (await issueStatuses(prescribed.shortId))[0] === '0004', { timeoutMs: 10_000, what: () => 'a sweep a second after the start' });
  } finally {
    await server.close();
  }
});
