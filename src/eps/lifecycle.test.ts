import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Bundle, OperationOutcome, Parameters, Task } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, EXAMPLE_ID, EXAMPLE_PATIENT, createPrescriber, freshPrescription, loadExample, prescribe, randomPharmacyOds, releaseParameters, rewrite, type Staff } from './test-kit.ts';

const t = await buildTestApp();
const ACUTE = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';
const prescriber = await createPrescriber(t);
const codeOf = (body: OperationOutcome) => body.issue[0]?.details?.coding?.[0]?.code;

type Prescribed = { shortId: string; nhsNumber: string };

async function prescribeTo(ods: string | null): Promise<Prescribed> {
  const { response, shortId, nhsNumber } = await prescribe(t, prescriber, loadExample(ACUTE), { nominatedOds: ods });
  assert.equal(response.statusCode, 200, response.body);
  return { shortId, nhsNumber };
}

const post = (url: string, staff: Staff, payload: unknown) => t.app.inject({ method: 'POST', url: `${EPS_BASE}${url}`, headers: staff.headers, payload: payload as object });
const release = (staff: Staff, shortId?: string) => post('/Task/$release', staff, releaseParameters(staff.ods, shortId));

/** An example message for this prescription: its id, patient and message id made ours. */
function example<T>(file: string, prescription: Prescribed, extra: Record<string, string> = {}): T {
  return rewrite(loadExample<T>(file), { [EXAMPLE_ID]: prescription.shortId, [EXAMPLE_PATIENT]: prescription.nhsNumber, ...extra });
}
const dispense = (staff: Staff, prescription: Prescribed, number: string, messageId = randomUUID()) =>
  post('/$process-message', staff, example<Bundle>(`spec/dispensing/dispense-notification/acute-primary-example-${number}-req.json`, prescription, { 'b240434e-cb85-40bb-899c-1c61410c93a7': messageId }));
const claim = (staff: Staff, prescription: Prescribed) => post('/Claim', staff, example('spec/dispensing/claim/acute-primary-example-req.json', prescription, { '737dcf8d-fc7a-436d-b692-7d3c4f258083': randomUUID() }));

async function tracked(staff: Staff, query: string): Promise<Task[]> {
  const response = await t.app.inject({ method: 'GET', url: `${EPS_BASE}/Task?${query}`, headers: staff.headers });
  assert.equal(response.statusCode, 200, response.body);
  return (response.json<Bundle>().entry ?? []).map((entry) => entry.resource as Task);
}
const statusOf = async (staff: Staff, shortId: string) => (await tracked(staff, `focus:identifier=${encodeURIComponent(shortId)}`))[0]?.businessStatus?.coding?.[0]?.code;

test('prescribe, nominated release, partial then full dispensing, claim: each step as the spec examples show it', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  const prescription = await prescribeTo(ods);
  assert.equal(await statusOf(prescriber, prescription.shortId), '0001');

  const released = await release(pharmacist);
  assert.equal(released.statusCode, 200, released.body);
  const body = released.json<Parameters>();
  assert.deepEqual(body.parameter?.map((parameter) => parameter.name), ['passedPrescriptions', 'failedPrescriptions']);
  const passed = body.parameter?.[0]?.resource as Bundle;
  assert.equal(passed.total, 1);
  const message = passed.entry?.[0]?.resource as Bundle;
  assert.ok(JSON.stringify(message).includes(prescription.shortId));
  assert.ok(message.entry?.some((entry) => entry.resource?.resourceType === 'Provenance'), 'the signed prescription, with its signature');
  assert.equal(await statusOf(pharmacist, prescription.shortId), '0002');

  const partly = await dispense(pharmacist, prescription, '01');
  assert.equal(partly.statusCode, 200, partly.body);
  assert.deepEqual(partly.json<OperationOutcome>().issue, loadExample<OperationOutcome>('spec/dispensing/dispense-notification/acute-primary-example-res.json').issue);
  assert.equal(await statusOf(pharmacist, prescription.shortId), '0003');
  const fully = await dispense(pharmacist, prescription, '03');
  assert.equal(fully.statusCode, 200, fully.body);
  assert.equal(await statusOf(pharmacist, prescription.shortId), '0006');

  const claimed = await claim(pharmacist, prescription);
  assert.equal(claimed.statusCode, 200, claimed.body);
  const [task] = await tracked(prescriber, `patient:identifier=https://fhir.nhs.uk/Id/nhs-number|${prescription.nhsNumber}`);
  assert.equal(task?.businessStatus?.coding?.[0]?.code, '0008');
  assert.equal(task?.status, 'completed');
  assert.equal(task?.owner?.identifier?.value, ods);

  const twice = await claim(pharmacist, prescription);
  assert.equal(codeOf(twice.json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  const [events] = await t.db<{ events: string[] }[]>`select array_agg(event order by id) as events from eps_event where short_id = ${prescription.shortId}`;
  assert.deepEqual(events?.events, ['prescribed', 'released', 'dispensed', 'dispensed', 'claimed']);
});

test('nominated release hands over 25 at a time, then the rest, then NO_MORE_PRESCRIPTIONS', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  for (let i = 0; i < 27; i++) await prescribeTo(ods);
  const totals = [];
  for (let i = 0; i < 2; i++) totals.push(((await release(pharmacist)).json<Parameters>().parameter?.[0]?.resource as Bundle).total);
  assert.deepEqual(totals, [25, 2]);
  const none = await release(pharmacist);
  assert.equal(none.statusCode, 200);
  assert.equal(codeOf(none.json()), 'NO_MORE_PRESCRIPTIONS');
  assert.equal(none.json<OperationOutcome>().issue[0]?.severity, 'information');
});

test('a prescription with another dispenser is refused, naming that pharmacy; an unknown one is RESOURCE_NOT_FOUND', async () => {
  const first = await createPharmacist(t, 'FCG71');
  const second = await createPharmacist(t, randomPharmacyOds());
  const prescription = await prescribeTo(null);
  assert.equal((await release(first, prescription.shortId)).statusCode, 200);
  const refused = await release(second, prescription.shortId);
  assert.equal(refused.statusCode, 400);
  const outcome = refused.json<OperationOutcome>();
  const expected = loadExample<OperationOutcome>('spec/errors/release/with-another-dispenser-error.json');
  assert.deepEqual(outcome.issue[0]?.details, expected.issue[0]?.details);
  const contained = outcome.contained?.[0];
  assert.equal(contained?.resourceType === 'Organization' && contained.identifier?.[0]?.value, 'FCG71');
  assert.equal(contained?.resourceType === 'Organization' && contained.name, 'OpenSpine Demo Pharmacy');
  assert.equal(outcome.extension?.[0]?.valueReference?.reference, `#${contained?.id ?? ''}`);
  // The first pharmacy cannot take it twice either, and dispensing by the other pharmacy is refused too.
  assert.equal(codeOf((await release(first, prescription.shortId)).json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  assert.equal(codeOf((await dispense(second, prescription, '01')).json()), 'PRESCRIPTION_WITH_ANOTHER_DISPENSER');

  const missing = await release(first, 'A0548B-A99968-451485');
  assert.equal(missing.statusCode, 400);
  assert.deepEqual(missing.json<OperationOutcome>().issue[0]?.details?.coding?.[0]?.code, 'RESOURCE_NOT_FOUND');
});

test('many pharmacies releasing one prescription at the same moment: exactly one gets it, every time', async () => {
  const pharmacists = await Promise.all(Array.from({ length: 12 }, () => createPharmacist(t, randomPharmacyOds())));
  for (let round = 0; round < 5; round++) {
    const prescription = await prescribeTo(null);
    const responses = await Promise.all(pharmacists.map((pharmacist) => release(pharmacist, prescription.shortId)));
    const winners = responses.filter((response) => response.statusCode === 200);
    assert.equal(winners.length, 1, `round ${round}: ${winners.length} pharmacies got it`);
    const losers = responses.filter((response) => response.statusCode !== 200).map((response) => codeOf(response.json()));
    assert.deepEqual(new Set(losers), new Set(['PRESCRIPTION_WITH_ANOTHER_DISPENSER']));
  }
  // Nominated release in parallel: no prescription is handed to two requests.
  const ods = randomPharmacyOds();
  const sameShop = await Promise.all([createPharmacist(t, ods), createPharmacist(t, ods), createPharmacist(t, ods)]);
  const ids = [];
  for (let i = 0; i < 30; i++) ids.push((await prescribeTo(ods)).shortId);
  const batches = await Promise.all(sameShop.map((pharmacist) => release(pharmacist)));
  const handed = batches.flatMap((response) => ((response.json<Parameters>().parameter?.[0]?.resource as Bundle | undefined)?.entry ?? []).map((entry) => JSON.stringify(entry.resource).match(/[0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+]/)?.[0]));
  assert.equal(handed.length, 30);
  assert.deepEqual(new Set(handed), new Set(ids));
});

test('return puts a prescription back To Be Dispensed for another pharmacy; withdraw takes back the last dispense notification', async () => {
  const first = await createPharmacist(t, randomPharmacyOds());
  const second = await createPharmacist(t, randomPharmacyOds());
  const prescription = await prescribeTo(null);
  assert.equal((await release(first, prescription.shortId)).statusCode, 200);
  const returned = await post('/Task', first, example('spec/dispensing/return/acute-primary-example-req.json', prescription));
  assert.equal(returned.statusCode, 200, returned.body);
  assert.equal(await statusOf(first, prescription.shortId), '0001');
  assert.equal((await release(second, prescription.shortId)).statusCode, 200);

  const messageId = randomUUID();
  assert.equal((await dispense(second, prescription, '01', messageId)).statusCode, 200);
  assert.equal(codeOf((await post('/Task', second, example('spec/dispensing/return/acute-primary-example-req.json', prescription))).json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  const withdrawal = (id: string) => example('spec/dispensing/withdraw/acute-primary-example-req.json', prescription, { 'a14d4fc1-82a2-4a82-aae2-50e212e7b907': id });
  assert.equal(codeOf((await post('/Task', second, withdrawal(randomUUID()))).json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  const withdrawn = await post('/Task', second, withdrawal(messageId));
  assert.equal(withdrawn.statusCode, 200, withdrawn.body);
  assert.equal(await statusOf(second, prescription.shortId), '0002');
  const [items] = await t.db<{ statuses: string[] }[]>`select array_agg(status order by position) as statuses from eps_line_item where short_id = ${prescription.shortId}`;
  assert.deepEqual(items?.statuses, ['0008', '0008', '0008', '0008']);
  // Dispensing goes on from there, to the end.
  assert.equal((await dispense(second, prescription, '03')).statusCode, 200);
  assert.equal(await statusOf(second, prescription.shortId), '0006');
});

test('cancellation: R-0001 before release, R-0002 after it and cancelled on return, R-0006 twice, R-0008 and R-5000 as OperationOutcomes', async () => {
  const template = loadExample<Bundle>('primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations/1-Process-Request-Send-200_OK.json');
  const cancelTemplate = loadExample<Bundle>('primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations/1-Process-Request-Cancel-200_OK.json');
  const cancelOf = (prescription: Prescribed, nhsNumber = prescription.nhsNumber) => freshPrescription(cancelTemplate, prescriber, { shortId: prescription.shortId, nhsNumber }).bundle;
  const send = async () => {
    const { response, shortId, nhsNumber } = await prescribe(t, prescriber, template, { nominatedOds: null });
    assert.equal(response.statusCode, 200, response.body);
    return { shortId, nhsNumber };
  };
  const resultOf = (bundle: Bundle) =>
    bundle.entry?.flatMap((entry) => (entry.resource?.resourceType === 'MedicationRequest' ? entry.resource.extension ?? [] : [])).find((extension) => extension.url.endsWith('PrescriptionStatusHistory'))?.extension?.[0]?.valueCoding?.code;

  const early = await send();
  const cancelled = await post('/$process-message', prescriber, cancelOf(early));
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.equal(resultOf(cancelled.json()), 'R-0001');
  assert.equal(cancelled.json<Bundle>().entry?.[0]?.resource?.resourceType, 'MessageHeader');
  assert.equal(await statusOf(prescriber, early.shortId), '0005');
  const again = await post('/$process-message', prescriber, cancelOf(early));
  assert.equal(again.statusCode, 400);
  assert.equal(resultOf(again.json()), 'R-0006');
  const pharmacist = await createPharmacist(t, randomPharmacyOds());
  assert.equal(codeOf((await release(pharmacist, early.shortId)).json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');

  const late = await send();
  assert.equal((await release(pharmacist, late.shortId)).statusCode, 200);
  const pending = await post('/$process-message', prescriber, cancelOf(late));
  assert.equal(pending.statusCode, 400);
  assert.equal(resultOf(pending.json()), 'R-0002');
  assert.equal(await statusOf(prescriber, late.shortId), '0002');
  const otherPrescriber = await createPrescriber(t);
  const byOther = await post('/$process-message', otherPrescriber, freshPrescription(cancelTemplate, otherPrescriber, { shortId: late.shortId, nhsNumber: late.nhsNumber }).bundle);
  assert.equal(resultOf(byOther.json()), 'R-0007');
  const returned = await post('/Task', pharmacist, example('spec/dispensing/return/acute-primary-example-req.json', late, { [EXAMPLE_ID]: late.shortId }));
  assert.equal(returned.statusCode, 200, returned.body);
  assert.equal(await statusOf(prescriber, late.shortId), '0005');

  const notFound = await post('/$process-message', prescriber, cancelOf({ shortId: 'A0548B-A99968-451485', nhsNumber: late.nhsNumber }));
  assert.deepEqual(notFound.json<OperationOutcome>().issue[0]?.details?.coding?.[0]?.code, 'R-0008');
  const mismatch = await post('/$process-message', prescriber, cancelOf(await send(), '9990548609'));
  assert.deepEqual(mismatch.json<OperationOutcome>().issue, loadExample<OperationOutcome>('spec/errors/prescription-order-update/R-5000-Cancellation.json').issue);
});

test('the tracker finds by prescription id or patient, narrowed by business status and date, and refuses a query without either', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  const nhsNumber = (await prescribeTo(ods)).nhsNumber;
  const { response } = await prescribe(t, prescriber, loadExample(ACUTE), { nominatedOds: ods, nhsNumber });
  assert.equal(response.statusCode, 200);
  await release(pharmacist);
  const today = new Date().toISOString().slice(0, 10);
  assert.equal((await tracked(pharmacist, `patient:identifier=${nhsNumber}`)).length, 2);
  assert.equal((await tracked(pharmacist, `patient:identifier=${nhsNumber}&business-status=0002`)).length, 2);
  assert.equal((await tracked(pharmacist, `patient:identifier=${nhsNumber}&business-status=0001`)).length, 0);
  assert.equal((await tracked(pharmacist, `patient:identifier=${nhsNumber}&authored-on=${today}`)).length, 2);
  assert.equal((await tracked(pharmacist, `patient:identifier=${nhsNumber}&authored-on=lt${today}`)).length, 0);
  const refused = await t.app.inject({ method: 'GET', url: `${EPS_BASE}/Task?business-status=0001`, headers: pharmacist.headers });
  assert.equal(refused.statusCode, 400);
  assert.equal(refused.json<OperationOutcome>().issue[0]?.code, 'invalid');
  const audited = (await auditRecords(t.db)).filter((record) => record.patientNhsNumbers.includes(nhsNumber) && record.service === 'electronic-prescriptions');
  assert.ok(audited.length >= 5, 'each call is audited with the patient');
});
