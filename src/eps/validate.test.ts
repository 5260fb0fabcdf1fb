// $validate checks a message as its endpoint would and changes nothing; /metadata says what EPS implements.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bundle, CapabilityStatement, Claim, OperationOutcome, Parameters, Task } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, createPrescriber, freshPrescription, loadExample, signThroughPrepare } from './test-kit.ts';

const t = await buildTestApp();
const prescriber = await createPrescriber(t);
const pharmacist = await createPharmacist(t, 'FCG71');
const ORDER = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';

const validate = async (payload: unknown, staff = prescriber) => {
  const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$validate`, headers: staff.headers, payload: payload as object });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<OperationOutcome>();
};
const prescriptionCount = async () => (await t.db<{ count: number }[]>`select count(*)::int as count from eps_prescription`)[0]?.count;

test('a valid order, release, dispense notification, return and claim each validate with no issues, and nothing is stored', async () => {
  const before = await prescriptionCount();
  const { bundle } = freshPrescription(loadExample(ORDER), prescriber);
  assert.deepEqual((await validate(bundle)).issue, [{ severity: 'information', code: 'informational', diagnostics: 'No issues detected during validation' }]);
  for (const example of ['spec/dispensing/release/acute-primary-example-req.json', 'spec/dispensing/dispense-notification/acute-primary-example-03-req.json', 'spec/dispensing/return/acute-primary-example-req.json', 'spec/dispensing/claim/acute-primary-example-req.json']) {
    const outcome = await validate(loadExample<Bundle | Parameters | Task | Claim>(example), pharmacist);
    assert.equal(outcome.issue[0]?.severity, 'information', `${example}: ${JSON.stringify(outcome)}`);
  }
  assert.equal(await prescriptionCount(), before, 'validating stores nothing');
});

test('every problem is reported: against the FHIR base definitions, then, for a message they pass, the endpoint\'s own checks', async () => {
  // Medication requests without their intent: FHIR R4 requires it, one issue each.
  const { bundle } = freshPrescription(loadExample(ORDER), prescriber);
  const requests = (bundle.entry ?? []).flatMap((entry) => (entry.resource?.resourceType === 'MedicationRequest' ? [entry.resource] : []));
  for (const request of requests) delete (request as { intent?: string }).intent;
  const outcome = await validate(bundle);
  assert.ok(outcome.issue.every((issue) => issue.severity === 'error'), JSON.stringify(outcome));
  assert.equal(outcome.issue.filter((issue) => issue.expression?.[0]?.endsWith('.resource.intent')).length, requests.length, JSON.stringify(outcome));

  // An intent FHIR allows but EPS does not ('plan'): EPS's own check says so.
  const { bundle: planned } = freshPrescription(loadExample(ORDER), prescriber);
  for (const entry of planned.entry ?? []) if (entry.resource?.resourceType === 'MedicationRequest') entry.resource.intent = 'plan';
  assert.ok((await validate(planned)).issue.some((issue) => issue.diagnostics === 'MedicationRequest.intent must be order, original-order or instance-order.'));

  // A bad check character in an otherwise valid order: EPS's own code for it.
  const { bundle: badCheck, shortId } = freshPrescription(loadExample(ORDER), prescriber);
  const wrongCheck = shortId.slice(0, -1) + (shortId.endsWith('A') ? 'B' : 'A');
  for (const entry of badCheck.entry ?? []) {
    if (entry.resource?.resourceType === 'MedicationRequest') entry.resource.groupIdentifier = { ...entry.resource.groupIdentifier, value: wrongCheck };
  }
  const checked = await validate(badCheck);
  assert.deepEqual(checked.issue.map((issue) => issue.details?.coding?.[0]?.code), ['FAILURE_TO_PROCESS_MESSAGE'], JSON.stringify(checked));
  assert.match(checked.issue[0]?.diagnostics ?? '', /INVALID_CHECK_DIGIT/);

  const task = loadExample<Task>('spec/dispensing/return/acute-primary-example-req.json');
  const refused = await validate({ ...task, status: 'completed' }, pharmacist);
  assert.match(refused.issue.map((issue) => issue.diagnostics).join(' '), /Task.status must be one of/);
  assert.equal((await validate({ not: 'a resource' })).issue[0]?.code, 'structure');
});

test('a message of an event EPS does not take is reported, as $process-message would refuse it', async () => {
  const { bundle } = freshPrescription(loadExample(ORDER), prescriber);
  const header = bundle.entry?.[0]?.resource;
  if (header?.resourceType === 'MessageHeader' && header.eventCoding) header.eventCoding.code = 'prescription-teleport';
  const outcome = await validate(bundle);
  assert.match(outcome.issue.map((issue) => issue.diagnostics).join(' '), /Unsupported message event 'prescription-teleport'/);
});

test('$validate needs a prescribing or dispensing role, and an X-Request-ID', async () => {
  const { bundle } = freshPrescription(loadExample(ORDER), prescriber);
  const anonymous = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$validate`, headers: { 'content-type': 'application/fhir+json' }, payload: bundle });
  assert.equal(anonymous.statusCode, 401);
  const { 'x-request-id': _omitted, ...withoutRequestId } = prescriber.headers;
  const noRequestId = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$validate`, headers: withoutRequestId, payload: bundle });
  assert.equal(noRequestId.statusCode, 400);
});

test('GET /metadata lists what EPS implements, public and without an X-Request-ID', async () => {
  const response = await t.app.inject({ method: 'GET', url: `${EPS_BASE}/metadata` });
  assert.equal(response.statusCode, 200, response.body);
  const statement = response.json<CapabilityStatement>();
  assert.deepEqual(statement.rest?.[0]?.operation?.map((operation) => operation.name), ['prepare', 'process-message', 'validate', 'release', 'convert']);
  assert.deepEqual(statement.rest?.[0]?.resource?.map((resource) => resource.type), ['Task', 'Claim']);
});

test('$validate and $prepare are audited with the patient the message names', async () => {
  const { bundle, nhsNumber } = freshPrescription(loadExample(ORDER), prescriber);
  await validate(bundle);
  await signThroughPrepare(t, bundle, prescriber.headers);
  const records = (await auditRecords(t.db)).filter((record) => record.service === 'electronic-prescriptions');
  for (const interaction of ['validate', 'prepare']) {
    assert.deepEqual(records.findLast((record) => record.interaction === interaction)?.patientNhsNumbers, [nhsNumber], interaction);
  }
});
