import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Bundle, BundleEntry, Claim, MedicationRequest, OperationOutcome, Task } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, EXAMPLE_ID, EXAMPLE_PATIENT, createPrescriber, freshPrescription, loadExample, prescribe, randomPharmacyOds, releaseParameters, rewrite, type Staff } from './test-kit.ts';

// Repeat dispensing (eRD) through every issue, from the spec's eRD examples (examples/spec/**/eRD-primary-example-req.json).
const t = await buildTestApp();
const prescriber = await createPrescriber(t);
const ORDER = 'spec/prescribing/prescription-order/eRD-primary-example-req.json';
const codeOf = (body: OperationOutcome) => body.issue[0]?.details?.coding?.[0]?.code;

type Prescribed = { shortId: string; nhsNumber: string };
const post = (url: string, staff: Staff, payload: unknown) => t.app.inject({ method: 'POST', url: `${EPS_BASE}${url}`, headers: staff.headers, payload: payload as object });
const release = (staff: Staff, shortId?: string) => post('/Task/$release', staff, releaseParameters(staff.ods, shortId));

/** Sets every numberOfRepeatsAllowed the message states (Extension-EPS-RepeatInformation) to `allowed`. */
function withRepeatsAllowed<T>(message: T, allowed: number): T {
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      const record = value as { url?: unknown; valueInteger?: number; valueUnsignedInt?: number };
      if (record.url === 'numberOfRepeatsAllowed') {
        if ('valueInteger' in record) record.valueInteger = allowed;
        if ('valueUnsignedInt' in record) record.valueUnsignedInt = allowed;
      }
      Object.values(value).forEach(walk);
    }
  };
  const copy = structuredClone(message);
  walk(copy);
  return copy;
}

/** An eRD example message for this prescription: its id, patient and message ids made ours, the repeat count the prescription's. */
function example<T>(file: string, prescription: Prescribed, allowed: number, extra: Record<string, string> = {}): T {
  return withRepeatsAllowed(rewrite(loadExample<T>(file), { [EXAMPLE_ID]: prescription.shortId, [EXAMPLE_PATIENT]: prescription.nhsNumber, ...extra }), allowed);
}

/** The eRD dispense notification (partly dispensed, 0003), or as the full dispense of the issue (0006). */
function dispensation(prescription: Prescribed, allowed: number, messageId: string, partial = false): Bundle {
  const bundle = example<Bundle>('spec/dispensing/dispense-notification/eRD-primary-example-req.json', prescription, allowed, { 'b240434e-cb85-40bb-899c-1c61410c93a7': messageId });
  if (partial) return bundle;
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (resource?.resourceType !== 'MedicationDispense') continue;
    // The example's partial dispense records one item as cancelled (0005): it stays so, the rest are dispensed.
    for (const coding of resource.type?.coding ?? []) if (coding.code !== '0005') coding.code = '0001';
    for (const extension of resource.extension ?? []) if (extension.url.endsWith('Extension-EPS-TaskBusinessStatus') && extension.valueCoding) extension.valueCoding.code = '0006';
  }
  return bundle;
}

const claimOf = (prescription: Prescribed, allowed: number) =>
  example<Claim>('spec/dispensing/claim/eRD-primary-example-req.json', prescription, allowed, { '737dcf8d-fc7a-436d-b692-7d3c4f258083': randomUUID() });
const returnOf = (prescription: Prescribed, allowed: number) =>
  example<Task>('spec/dispensing/return/eRD-primary-example-req.json', prescription, allowed);
const withdrawalOf = (prescription: Prescribed, allowed: number, messageId: string) =>
  example<Task>('spec/dispensing/withdraw/eRD-primary-example-req.json', prescription, allowed, { 'a14d4fc1-82a2-4a82-aae2-50e212e7b907': messageId });

/** The eRD order with `allowed` repeats (allowed + 1 issues), prescribed to the pharmacy. */
async function prescribeRepeatDispensing(ods: string | null, allowed: number): Promise<Prescribed> {
  const template = loadExample<Bundle>(ORDER);
  for (const entry of template.entry ?? []) {
    if (entry.resource?.resourceType === 'MedicationRequest' && entry.resource.dispenseRequest) entry.resource.dispenseRequest.numberOfRepeatsAllowed = allowed;
  }
  const { response, shortId, nhsNumber } = await prescribe(t, prescriber, template, { nominatedOds: ods });
  assert.equal(response.statusCode, 200, response.body);
  return { shortId, nhsNumber };
}

async function issueStatuses(shortId: string): Promise<string[]> {
  const rows = await t.db<{ status: string }[]>`select status from eps_issue where short_id = ${shortId} order by issue_number`;
  return rows.map((row) => row.status);
}
async function itemStatuses(shortId: string, issueNumber: number): Promise<string[]> {
  const rows = await t.db<{ status: string }[]>`select status from eps_line_item where short_id = ${shortId} and issue_number = ${issueNumber} order by position`;
  return rows.map((row) => row.status);
}
async function trackerStatus(staff: Staff, shortId: string): Promise<string | undefined> {
  const response = await t.app.inject({ method: 'GET', url: `${EPS_BASE}/Task?focus:identifier=${encodeURIComponent(shortId)}`, headers: staff.headers });
  return ((response.json<Bundle>().entry?.[0]?.resource as Task | undefined)?.businessStatus?.coding?.[0]?.code);
}

test('repeat dispensing through every issue: each becomes releasable (9000 to 0001) when the one before is dispensed, and a withdrawal closes it again', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  const prescription = await prescribeRepeatDispensing(ods, 2);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0001', '9000', '9000']);
  assert.equal(await trackerStatus(prescriber, prescription.shortId), '0001');

  // Issue 1: nominated release, a partial then a full dispense.
  assert.equal((await release(pharmacist)).statusCode, 200);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0002', '9000', '9000']);
  const partial = await post('/$process-message', pharmacist, dispensation(prescription, 2, randomUUID(), true));
  assert.equal(partial.statusCode, 200, partial.body);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0003', '9000', '9000'], 'a partial dispense opens nothing');
  const firstFull = randomUUID();
  const full = await post('/$process-message', pharmacist, dispensation(prescription, 2, firstFull));
  assert.equal(full.statusCode, 200, full.body);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0006', '0001', '9000']);

  // Withdrawing issue 1's last notification puts issue 2 back in the future.
  const withdrawn = await post('/Task', pharmacist, withdrawalOf(prescription, 2, firstFull));
  assert.equal(withdrawn.statusCode, 200, withdrawn.body);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0003', '9000', '9000']);
  assert.equal(codeOf((await release(pharmacist)).json()), 'NO_MORE_PRESCRIPTIONS', 'issue 2 is not releasable after the withdrawal');
  assert.equal((await post('/$process-message', pharmacist, dispensation(prescription, 2, randomUUID()))).statusCode, 200);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0006', '0001', '9000']);

  const claimed = await post('/Claim', pharmacist, claimOf(prescription, 2));
  assert.equal(claimed.statusCode, 200, claimed.body);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0008', '0001', '9000']);
  assert.equal(await trackerStatus(prescriber, prescription.shortId), '0001', 'the tracker shows the issue now to be dispensed');

  // Issue 2 by nominated release, issue 3 by patient-specific release; then there is nothing more.
  assert.equal((await release(pharmacist)).statusCode, 200);
  assert.deepEqual(await itemStatuses(prescription.shortId, 2), ['0008', '0008', '0008', '0008']);
  assert.equal((await post('/$process-message', pharmacist, dispensation(prescription, 2, randomUUID()))).statusCode, 200);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0008', '0006', '0001']);
  assert.equal((await release(pharmacist, prescription.shortId)).statusCode, 200);
  assert.equal((await post('/$process-message', pharmacist, dispensation(prescription, 2, randomUUID()))).statusCode, 200);
  assert.equal((await post('/Claim', pharmacist, claimOf(prescription, 2))).statusCode, 200);
  assert.equal((await post('/Claim', pharmacist, claimOf(prescription, 2))).statusCode, 200);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0008', '0008', '0008']);
  assert.equal(codeOf((await release(pharmacist)).json()), 'NO_MORE_PRESCRIPTIONS');
  assert.equal(codeOf((await release(pharmacist, prescription.shortId)).json()), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  const [events] = await t.db<{ events: string[] }[]>`select array_agg(event order by id) filter (where event = 'issue-available') as events from eps_event where short_id = ${prescription.shortId}`;
  assert.equal(events?.events.length, 3, 'issue 2 opened twice (before and after the withdrawal), issue 3 once');
});

test('MISMATCH_AUTHORISED_REPEAT_COUNTS: a dispense notification, claim or withdrawal stating another repeat count than the prescriber authorised (a return: MAX_REPEAT_MISMATCH)', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  const prescription = await prescribeRepeatDispensing(ods, 2);
  assert.equal((await release(pharmacist)).statusCode, 200);
  // The example as published states 5 repeats; this prescription authorised 2.
  const asPublished = rewrite(loadExample<Bundle>('spec/dispensing/dispense-notification/eRD-primary-example-req.json'), { [EXAMPLE_ID]: prescription.shortId, [EXAMPLE_PATIENT]: prescription.nhsNumber });
  const refused = await post('/$process-message', pharmacist, asPublished);
  assert.equal(refused.statusCode, 400);
  assert.equal(codeOf(refused.json()), 'MISMATCH_AUTHORISED_REPEAT_COUNTS');
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0002', '9000', '9000'], 'nothing changed');
  // A return names the same refusal MAX_REPEAT_MISMATCH, as its endpoint documents.
  const wrongReturn = await post('/Task', pharmacist, returnOf(prescription, 4));
  assert.equal(wrongReturn.statusCode, 400, wrongReturn.body);
  assert.equal(codeOf(wrongReturn.json()), 'MAX_REPEAT_MISMATCH');
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0002', '9000', '9000'], 'nothing returned');

  const messageId = randomUUID();
  assert.equal((await post('/$process-message', pharmacist, dispensation(prescription, 2, messageId))).statusCode, 200);
  assert.equal(codeOf((await post('/Task', pharmacist, withdrawalOf(prescription, 6, messageId))).json()), 'MISMATCH_AUTHORISED_REPEAT_COUNTS');
  const wrongClaim = await post('/Claim', pharmacist, claimOf(prescription, 3));
  assert.equal(wrongClaim.statusCode, 400);
  assert.equal(codeOf(wrongClaim.json()), 'MISMATCH_AUTHORISED_REPEAT_COUNTS');
  assert.equal((await post('/Claim', pharmacist, claimOf(prescription, 2))).statusCode, 200);
});

test('cancelling an eRD prescription: an item cancelled now is cancelled on every issue to come; all items cancelled voids the future issues (9005)', async () => {
  const ods = randomPharmacyOds();
  const pharmacist = await createPharmacist(t, ods);
  const prescription = await prescribeRepeatDispensing(ods, 3);
  assert.equal((await release(pharmacist)).statusCode, 200);
  assert.equal((await post('/$process-message', pharmacist, dispensation(prescription, 3, randomUUID()))).statusCode, 200);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0006', '0001', '9000', '9000']);
  const dispensedItems = await itemStatuses(prescription.shortId, 1);

  const cancelTemplate = loadExample<Bundle>('spec/prescribing/prescription-order-update/eRD-primary-example-req.json');
  const cancelOf = (itemIds: string[]): Bundle => {
    const { bundle } = freshPrescription(cancelTemplate, prescriber, { shortId: prescription.shortId, nhsNumber: prescription.nhsNumber });
    const requestEntry = bundle.entry?.find((entry) => entry.resource?.resourceType === 'MedicationRequest') as BundleEntry<MedicationRequest>;
    const requests = itemIds.map((itemId): BundleEntry => {
      const copy = structuredClone(requestEntry);
      const fullUrl = `urn:uuid:${randomUUID()}`;
      if (copy.resource) copy.resource.identifier = [{ system: 'https://fhir.nhs.uk/Id/prescription-order-item-number', value: itemId }];
      return { ...copy, fullUrl };
    });
    bundle.entry = (bundle.entry ?? []).flatMap((entry) => (entry === requestEntry ? requests : [entry]));
    return bundle;
  };
  const [first = '', ...others] = ['a54219b8-f741-4c47-b662-e4f8dfa49ab6', '6989b7bd-8db6-428c-a593-4022e3044c00', '5cb17f5a-11ac-4e18-825f-6470467238b3', '2868554c-5565-4d31-b92a-c5b8dab8b90a'];
  const one = await post('/$process-message', prescriber, cancelOf([first]));
  assert.equal(one.statusCode, 200, one.body);
  assert.deepEqual(await itemStatuses(prescription.shortId, 2), ['0005', '0007', '0007', '0007']);
  assert.deepEqual(await itemStatuses(prescription.shortId, 4), ['0005', '0007', '0007', '0007'], 'the item is cancelled on the issues to come');
  assert.deepEqual(await itemStatuses(prescription.shortId, 1), dispensedItems, 'the dispensed issue is as it was');

  const rest = await post('/$process-message', prescriber, cancelOf(others));
  assert.equal(rest.statusCode, 200, rest.body);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0006', '0005', '9005', '9005']);
  assert.equal(codeOf((await release(pharmacist)).json()), 'NO_MORE_PRESCRIPTIONS');
  // Issue 1 is claimed as usual; nothing opens after it.
  assert.equal((await post('/Claim', pharmacist, claimOf(prescription, 3))).statusCode, 200);
  assert.deepEqual(await issueStatuses(prescription.shortId), ['0008', '0005', '9005', '9005']);
});
