// A message so malformed that EPS's readers cannot walk it (a null where a resource is, a string
// where a list is) is the client's mistake: 400 from every endpoint, an issue from $validate,
// never a 500.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, createPrescriber, freshPrescription, loadExample, type Staff } from './test-kit.ts';

const t = await buildTestApp();
const prescriber = await createPrescriber(t);
const pharmacist = await createPharmacist(t, 'FCG71');

/** A message bundle of this event whose second entry is null. */
function withNullEntry(example: string, event: string): Bundle {
  const bundle = freshPrescription(loadExample(example), prescriber).bundle;
  const header = bundle.entry?.[0]?.resource;
  if (header?.resourceType === 'MessageHeader' && header.eventCoding) header.eventCoding.code = event;
  return { ...bundle, entry: [bundle.entry?.[0] ?? {}, null as never, ...(bundle.entry ?? []).slice(1)] };
}

const ORDER = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';
const CASES: { path: string; as: Staff; body: unknown }[] = [
  { path: '/$prepare', as: prescriber, body: withNullEntry(ORDER, 'prescription-order') },
  { path: '/$process-message', as: prescriber, body: withNullEntry(ORDER, 'prescription-order') },
  { path: '/$process-message', as: prescriber, body: withNullEntry(ORDER, 'prescription-order-update') },
  { path: '/$process-message', as: pharmacist, body: withNullEntry(ORDER, 'dispense-notification') },
  { path: '/Task/$release', as: pharmacist, body: { resourceType: 'Parameters', parameter: [null] } },
  { path: '/Task/$release', as: pharmacist, body: { resourceType: 'Parameters', parameter: 'x' } },
  { path: '/Task', as: pharmacist, body: { resourceType: 'Task', status: 'rejected', groupIdentifier: null, for: 'x', statusReason: [null] } },
  { path: '/Claim', as: pharmacist, body: { resourceType: 'Claim', use: 'claim', item: [null] } },
];

test('every EPS endpoint answers a message it cannot walk with a 4xx OperationOutcome', async () => {
  for (const { path, as, body } of CASES) {
    const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}${path}`, headers: as.headers, payload: body as object });
    assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${path}: ${response.statusCode} ${response.body}`);
    assert.equal(response.json<OperationOutcome>().resourceType, 'OperationOutcome', path);
  }
});

test('$validate reports each of them as issues, with 200', async () => {
  for (const { as, body } of CASES) {
    const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$validate`, headers: as.headers, payload: body as object });
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(response.json<OperationOutcome>().issue.every((issue) => issue.severity === 'error'), response.body);
  }
});
