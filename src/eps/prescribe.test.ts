import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Bundle, OperationOutcome, Parameters, Provenance } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import { registerTestApplication } from '../../test/support/applications.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, createPrescriber, freshPrescription, loadExample, prescribe, signThroughPrepare } from './test-kit.ts';
import { registerPrescriberCertificate } from './certificates.ts';
import { DEMO_PRESCRIBER_CERTIFICATE } from './demo-signing-key.ts';
import { prescriptionDigest } from './signature.ts';

const t = await buildTestApp();
const ACUTE = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';
const prescriber = await createPrescriber(t);
const spineCode = (body: OperationOutcome) => body.issue[0]?.details?.coding?.[0]?.code;

test('$prepare answers the digest, timestamp and algorithm in the shape of the example', async () => {
  const { bundle } = freshPrescription(loadExample('primary-care/acute/nominated-pharmacy/medical-prescriber/1-Prepare-Request-200_OK.json'), prescriber);
  const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$prepare`, headers: prescriber.headers, payload: bundle });
  assert.equal(response.statusCode, 200, response.body);
  const expected = loadExample<Parameters>('primary-care/acute/nominated-pharmacy/medical-prescriber/1-Prepare-Response-200_OK.json');
  const body = response.json<Parameters>();
  assert.deepEqual(body.parameter?.map((parameter) => parameter.name), expected.parameter?.map((parameter) => parameter.name));
  const digest = Buffer.from(body.parameter?.[0]?.valueString ?? '', 'base64').toString();
  const exampleDigest = Buffer.from(expected.parameter?.[0]?.valueString ?? '', 'base64').toString();
  // The same SignedInfo as the NHS's, but for the DigestValue (ours is over this bundle's content).
  assert.equal(digest.replace(/<DigestValue>.*<\/DigestValue>/, ''), exampleDigest.replace(/<DigestValue>.*<\/DigestValue>/, ''));
  assert.ok(digest.includes(`<DigestValue>${prescriptionDigest(bundle)}</DigestValue>`));
  assert.match(body.parameter?.[1]?.valueString ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
  assert.equal(body.parameter?.[2]?.valueString, 'RS256');
});

test('a signed order from its prescriber becomes a prescription To Be Dispensed, answered as the example', async () => {
  const { response, shortId } = await prescribe(t, prescriber, loadExample(ACUTE));
  assert.equal(response.statusCode, 200, response.body);
  const expected = loadExample<OperationOutcome>('primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Response-Send-200_OK.json');
  assert.deepEqual(response.json<OperationOutcome>().issue, expected.issue);
  const [row] = await t.db<{ status: string }[]>`select status from eps_issue where short_id = ${shortId}`;
  assert.equal(row?.status, '0001');
});

test('every valid prescription-order example is accepted once made fresh and signed', async () => {
  const examples = [
    ACUTE,
    'primary-care/acute/nominated-pharmacy/medical-prescriber/3-Process-Request-Multiple-DosageInstructions-Send_200_OK.json',
    'spec/prescribing/prescription-order/eRD-primary-example-req.json',
    'spec/prescribing/prescription-order/repeat-primary-example-req.json',
    'primary-care/acute/no-nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/din/1-Process-Request-Send-200_OK.json',
    'secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/1-Process-Request-Send-200_OK.json',
    'secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner/1-Process-Request-Send-200_OK.json',
  ];
  for (const example of examples) {
    const { response } = await prescribe(t, prescriber, loadExample(example));
    assert.equal(response.statusCode, 200, `${example}: ${response.body}`);
  }
});

test('a prescription changed after signing is refused: the signature does not match it', async () => {
  const { bundle } = freshPrescription(loadExample(ACUTE), prescriber);
  const signed = await signThroughPrepare(t, bundle, prescriber.headers);
  const tampered = structuredClone(signed);
  const request = tampered.entry?.find((entry) => entry.resource?.resourceType === 'MedicationRequest')?.resource;
  if (request?.resourceType === 'MedicationRequest' && request.dispenseRequest?.quantity) request.dispenseRequest.quantity.value = 2000;
  const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: prescriber.headers, payload: tampered });
  assert.equal(response.statusCode, 400);
  assert.equal(response.json<OperationOutcome>().issue[0]?.details?.coding?.[0]?.display, "Signature doesn't match prescription.");
  // The untouched one is accepted, so it was the change that was refused.
  const accepted = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: prescriber.headers, payload: signed });
  assert.equal(accepted.statusCode, 200, accepted.body);
});

test('a signature by a key not registered to the prescriber, or no signature, is refused', async () => {
  const other = await createPrescriber(t);
  await t.db`delete from eps_prescriber_certificate where user_id = ${other.userId}`;
  const { bundle } = freshPrescription(loadExample(ACUTE), other);
  const signed = await signThroughPrepare(t, bundle, other.headers);
  const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: other.headers, payload: signed });
  assert.equal(response.statusCode, 400);
  assert.equal(spineCode(response.json()), 'INVALID_VALUE');
  assert.match(response.json<OperationOutcome>().issue[0]?.diagnostics ?? '', /not one registered/);
  const storedFor = async () => (await t.db<{ count: number }[]>`select count(*)::int as count from eps_prescription where prescriber_user_id = ${other.userId}`)[0]?.count;
  assert.equal(await storedFor(), 0, 'nothing stored');
  // The certificate in KeyInfo is checked against the registered ones as the order is stored: a
  // revoked one is refused, and the same signed order is taken once it is registered again.
  await registerPrescriberCertificate(t.db, other.userId, DEMO_PRESCRIBER_CERTIFICATE);
  await t.db`update eps_prescriber_certificate set revoked_at = now() where user_id = ${other.userId}`;
  const revoked = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: other.headers, payload: signed });
  assert.match(revoked.json<OperationOutcome>().issue[0]?.diagnostics ?? '', /not one registered/);
  assert.equal(await storedFor(), 0, 'nothing stored');
  await registerPrescriberCertificate(t.db, other.userId, DEMO_PRESCRIBER_CERTIFICATE);
  const registered = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: other.headers, payload: signed });
  assert.equal(registered.statusCode, 200, registered.body);
  assert.equal(await storedFor(), 1);
  const unsigned = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: prescriber.headers, payload: freshPrescription(loadExample(ACUTE), prescriber).bundle });
  assert.equal(spineCode(unsigned.json()), 'MISSING_DIGITAL_SIGNATURE');
  // The example's own Provenance has an empty SignatureValue (the NHS examples are not really signed).
  const example = freshPrescription(loadExample(ACUTE), prescriber).bundle;
  example.entry?.push(...(loadExample<Bundle>(ACUTE).entry ?? []).filter((entry) => entry.resource?.resourceType === 'Provenance'));
  const exampleSigned = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: prescriber.headers, payload: example });
  assert.equal(spineCode(exampleSigned.json()), 'MISSING_DIGITAL_SIGNATURE');
});

test('a signature without a certificate in KeyInfo is checked with each certificate registered to the prescriber', async () => {
  const withoutKeyInfo = (signed: Bundle): Bundle => {
    const provenance = signed.entry?.find((entry) => entry.resource?.resourceType === 'Provenance')?.resource as Provenance;
    const signature = provenance.signature?.[0];
    assert.ok(signature?.data);
    signature.data = Buffer.from(Buffer.from(signature.data, 'base64').toString('utf8').replace(/<KeyInfo>.*<\/KeyInfo>/, '')).toString('base64');
    return signed;
  };
  const order = (staff: typeof prescriber, payload: Bundle) => t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: staff.headers, payload });
  const accepted = await order(prescriber, withoutKeyInfo(await signThroughPrepare(t, freshPrescription(loadExample(ACUTE), prescriber).bundle, prescriber.headers)));
  assert.equal(accepted.statusCode, 200, accepted.body);

  const unregistered = await createPrescriber(t);
  const signed = withoutKeyInfo(await signThroughPrepare(t, freshPrescription(loadExample(ACUTE), unregistered).bundle, unregistered.headers));
  await t.db`delete from eps_prescriber_certificate where user_id = ${unregistered.userId}`;
  const refused = await order(unregistered, signed);
  assert.equal(refused.statusCode, 400);
  assert.match(refused.json<OperationOutcome>().issue[0]?.diagnostics ?? '', /no registered certificate valid now/);
});

test('a bad check character is refused as the INVALID_CHECKSUM example, a reused id as DUPLICATE_PRESCRIPTION_ID', async () => {
  const { bundle } = freshPrescription(loadExample(ACUTE), prescriber, { shortId: '24F5DA-A83008-7EFE6+' });
  const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: prescriber.headers, payload: bundle });
  assert.equal(response.statusCode, 400);
  const expected = loadExample<OperationOutcome>('errors/1-Process-Response-Send-400_INVALID_CHECKSUM.json');
  assert.deepEqual(response.json<OperationOutcome>().issue[0]?.details, expected.issue[0]?.details);
  assert.equal(response.json<OperationOutcome>().issue[0]?.code, 'processing');

  const first = await prescribe(t, prescriber, loadExample(ACUTE));
  assert.equal(first.response.statusCode, 200);
  const again = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: prescriber.headers, payload: first.signed });
  assert.equal(again.statusCode, 400);
  assert.equal(spineCode(again.json()), 'DUPLICATE_PRESCRIPTION_ID');
  const [stored] = await t.db<{ issues: number; events: number }[]>`
    select (select count(*)::int from eps_issue where short_id = ${first.shortId}) as issues, (select count(*)::int from eps_event where short_id = ${first.shortId}) as events`;
  assert.deepEqual(stored, { issues: 1, events: 1 }, 'the refused duplicate wrote nothing');
  const prepareAgain = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$prepare`, headers: prescriber.headers, payload: first.signed });
  assert.equal(spineCode(prepareAgain.json()), 'DUPLICATE_PRESCRIPTION_ID');
});

test('the invalid examples are refused with their documented errors', async () => {
  for (const [request, expectedResponse] of [
    ['errors/2-Process-Request-Send-400_Invalid_Course_of_Therapy_mixed.json', 'errors/2-Process-Response-Send-400_Invalid_Course_of_Therapy_mixed.json'],
    ['errors/2-Prepare-Request-400_Invalid_Course_of_Therapy_mixed.json', 'errors/2-Prepare-Response-400_Invalid_Course_of_Therapy_mixed.json'],
    ['errors/4-Process-Request-Send-400_invalid_intent.json', 'errors/4-Process-Response-Send-400_invalid_intent.json'],
  ] as const) {
    const { bundle } = freshPrescription(loadExample(request), prescriber);
    const url = request.includes('Prepare') ? `${EPS_BASE}/$prepare` : `${EPS_BASE}/$process-message`;
    const response = await t.app.inject({ method: 'POST', url, headers: prescriber.headers, payload: bundle });
    assert.equal(response.statusCode, 400, request);
    const expected = loadExample<OperationOutcome>(expectedResponse).issue[0];
    const issue = response.json<OperationOutcome>().issue.find((candidate) => candidate.expression?.[0] === expected?.expression?.[0]);
    assert.ok(issue, `${request}: ${response.body}`);
    assert.equal(issue.diagnostics, expected?.diagnostics ?? expected?.details?.coding?.[0]?.display);
  }
});

test('only the prescriber the bundle names may send it: another prescriber, a pharmacist and an application are refused', async () => {
  const { bundle } = freshPrescription(loadExample(ACUTE), prescriber);
  const signed = await signThroughPrepare(t, bundle, prescriber.headers);
  const colleague = await createPrescriber(t);
  const asColleague = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: colleague.headers, payload: signed });
  assert.equal(asColleague.statusCode, 403, asColleague.body);
  const pharmacist = await createPharmacist(t, 'FCG71');
  const asPharmacist = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$prepare`, headers: pharmacist.headers, payload: bundle });
  assert.equal(asPharmacist.statusCode, 403);
  const application = await registerTestApplication(t, { accessModes: ['application-restricted'] });
  const token = await t.token({ actor: { mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] } });
  const asApplication = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', 'x-request-id': randomUUID() }, payload: signed });
  assert.equal(asApplication.statusCode, 403);
  const refusals = (await auditRecords(t.db)).filter((record) => record.outcome === 'denied' && record.service === 'electronic-prescriptions');
  assert.ok(refusals.length >= 3, 'refusals are audited');
});
