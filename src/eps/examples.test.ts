import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bundle, MedicationRequest, OperationOutcome, Parameters, Patient } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { EPS_BASE } from './routes.ts';
import { createPharmacist, EXAMPLE_ID, EXAMPLE_PATIENT, createPrescriber, loadExample, prescribe, randomPharmacyOds, rewrite, type Staff } from './test-kit.ts';

// The spec's example flows run as they are, each message after the prescription (made fresh and
// signed) rewritten only to its new id and patient: secondary-care homecare and community, repeat
// dispensing, and every Claim example; the invalid ones refused with their documented errors.
const t = await buildTestApp();
const prescriber = await createPrescriber(t);
const HOMECARE = 'secondary-care/homecare/acute/nominated-pharmacy';
const COMMUNITY_ERD = 'secondary-care/community/repeat-dispensing/nominated-pharmacy/clinical-practitioner';
const codeOf = (body: OperationOutcome) => body.issue[0]?.details?.coding?.[0]?.code;
const post = (url: string, staff: Staff, payload: unknown) => t.app.inject({ method: 'POST', url: `${EPS_BASE}${url}`, headers: staff.headers, payload: payload as object });

/** Where each kind of message goes. */
function endpointOf(file: string): string {
  if (file.includes('Task-Request-Release')) return '/Task/$release';
  if (file.includes('Task-Request')) return '/Task';
  if (file.includes('Claim-Request')) return '/Claim';
  return '/$process-message';
}

/** The release Parameters of an example, its owner made our pharmacy. */
function ownedBy(parameters: Parameters, ods: string): Parameters {
  return {
    ...parameters,
    parameter: (parameters.parameter ?? []).map((parameter) =>
      parameter.name === 'owner' && parameter.resource?.resourceType === 'Organization'
        ? { ...parameter, resource: { ...parameter.resource, identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: ods }] } }
        : parameter),
  };
}

/**
 * Prescribes the flow's Send example afresh, then sends each later message of the flow as the
 * example has it but for the prescription id and patient; every one must be accepted.
 */
async function runFlow(folder: string, send: string, steps: string[], otherPatients: string[] = []): Promise<{ shortId: string }> {
  const template = loadExample<Bundle>(`${folder}/${send}`);
  const request = template.entry?.find((entry) => entry.resource?.resourceType === 'MedicationRequest')?.resource as MedicationRequest;
  const patient = template.entry?.find((entry) => entry.resource?.resourceType === 'Patient')?.resource as Patient;
  const exampleId = request.groupIdentifier?.value ?? '';
  const examplePatient = patient.identifier?.find((identifier) => identifier.system === 'https://fhir.nhs.uk/Id/nhs-number')?.value ?? '';
  const pharmacist = await createPharmacist(t, randomPharmacyOds());
  const { response, shortId, nhsNumber } = await prescribe(t, prescriber, template, { nominatedOds: pharmacist.ods });
  assert.equal(response.statusCode, 200, `${folder}/${send}: ${response.body}`);
  for (const step of steps) {
    const patients = Object.fromEntries([examplePatient, ...otherPatients].map((number) => [number, nhsNumber]));
    let message = rewrite(loadExample<Bundle | Parameters>(`${folder}/${step}`), { [exampleId]: shortId, ...patients });
    if (message.resourceType === 'Parameters') message = ownedBy(message, pharmacist.ods);
    const answer = await post(endpointOf(step), pharmacist, message);
    assert.equal(answer.statusCode, 200, `${folder}/${step}: ${answer.body}`);
    if (step.includes('Release')) assert.equal((answer.json<Parameters>().parameter?.[0]?.resource as Bundle).total, 1, `${step} released it`);
  }
  return { shortId };
}

async function statusOf(shortId: string): Promise<string[]> {
  return (await t.db<{ status: string }[]>`select status from eps_issue where short_id = ${shortId} order by issue_number`).map((row) => row.status);
}

test('secondary-care homecare: the seven flows of clinical-practitioner (dispense, claim, return, withdraw, dispense amendment, claim amendment)', async () => {
  const folder = `${HOMECARE}/clinical-practitioner`;
  const flows: [number, string[], string][] = [
    [1, ['Task-Request-Release', 'Process-Request-Dispense', 'Claim-Request'], '0008'],
    [2, ['Task-Request-Release', 'Task-Request-Return'], '0001'],
    [3, ['Task-Request-Release', 'Process-Request-Dispense', 'Task-Request-Withdraw'], '0002'],
    [4, ['Task-Request-Release', 'Process-Request-Dispense', 'Claim-Request'], '0008'],
    [5, ['Task-Request-Release', 'Process-Request-Dispense', 'Process-Request-DispenseAmend'], ''],
    [6, ['Task-Request-Release', 'Process-Request-Dispense', 'Claim-Request', 'Claim-Request-Amend'], '0008'],
    [7, ['Task-Request-Release', 'Process-Request-Dispense', 'Claim-Request'], '0008'],
  ];
  for (const [number, steps, status] of flows) {
    const { shortId } = await runFlow(folder, `${number}-Process-Request-Send-200_OK.json`, steps.map((step) => `${number}-${step}-200_OK.json`));
    if (status) assert.deepEqual(await statusOf(shortId), [status], `flow ${number}`);
  }
});

test('secondary-care homecare: the dosage-instruction flows (concurrent, consecutive, both)', async () => {
  for (const kind of ['concurrent-dosage-instructions', 'consecutive-dosage-instructions', 'consecutive-and-concurrent-dosage-instructions']) {
    await runFlow(`${HOMECARE}/${kind}`, '1-Process-Request-Send-200_OK.json', ['1-Task-Request-Release-200_OK.json', '1-Process-Request-Dispense-200_OK.json']);
  }
});

test('repeat dispensing examples: the secondary-care community eRD flows, and every eRD prescription example accepted', async () => {
  const single = await runFlow(`${COMMUNITY_ERD}/single-medication-request`, '1-Process-Request-Send-200_OK.json', [
    '1-Task-Request-Release-200_OK.json', '1-Process-Request-Dispense-200_OK.json', '1-Claim-Request-200_OK.json',
  ], ['9449304130']); // the claim example names another patient than its prescription: taken to be the same one
  const after = await statusOf(single.shortId);
  assert.ok(after.length > 1, 'several issues');
  assert.equal(after[0], '0008');
  const multiple = await runFlow(`${COMMUNITY_ERD}/multiple-medication-requests/prescriber-endorsed`, '1-Process-Request-Send-200_OK.json', [
    '1-Task-Request-Release-200_OK.json', '1-Process-Request-Dispense-200_OK.json',
  ]);
  assert.ok((await statusOf(multiple.shortId)).length > 1);
  for (const send of [
    `${COMMUNITY_ERD}/multiple-medication-requests/non-prescriber-endorsed/1-Process-Request-Send-200_OK.json`,
    'primary-care/repeat-dispensing/nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/medication-list/din/1-Process-Request-Send-200_OK.json',
    'primary-care/repeat-dispensing/nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/medication-list/spurious-code/1-Process-Request-Send-200_OK.json',
    'primary-care/acute-and-repeat-prescribing/1-Process-Request-Send-200_OK.json',
    'primary-care/repeat-prescribing/1-Process-Request-Send-200_OK.json',
  ]) {
    const { response, shortId } = await prescribe(t, prescriber, loadExample(send));
    assert.equal(response.statusCode, 200, `${send}: ${response.body}`);
    if (send.includes('repeat-dispensing')) assert.deepEqual((await statusOf(shortId)).slice(0, 2), ['0001', '9000'], send);
  }
});

test('every valid Claim example is accepted after its dispense; the one without endorsement codes is refused as the spec says', async () => {
  // The spec's claims, each after the acute dispense of examples/spec (its items are the same four).
  const acute = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';
  const claims = ['spec/dispensing/claim/acute-primary-example-req.json', 'spec/dispensing/claim/repeat-primary-example-req.json'];
  for (const claimFile of claims) {
    const pharmacist = await createPharmacist(t, randomPharmacyOds());
    const { response, shortId, nhsNumber } = await prescribe(t, prescriber, loadExample(acute), { nominatedOds: pharmacist.ods });
    assert.equal(response.statusCode, 200, response.body);
    const swap = { [EXAMPLE_ID]: shortId, [EXAMPLE_PATIENT]: nhsNumber };
    assert.equal((await post('/Task/$release', pharmacist, ownedBy(loadExample<Parameters>('spec/dispense/Nominated-Pharmacy-Request-Release-200_OK.json'), pharmacist.ods))).statusCode, 200);
    const dispensed = await post('/$process-message', pharmacist, rewrite(loadExample<Bundle>('spec/dispensing/dispense-notification/acute-primary-example-03-req.json'), swap));
    assert.equal(dispensed.statusCode, 200, dispensed.body);
    if (claimFile.includes('acute')) {
      const missing = await post('/Claim', pharmacist, rewrite(loadExample('primary-care/acute/nominated-pharmacy/medical-prescriber/2-Claim-Request-400_Missing_Endorsement_Code.json'), swap));
      assert.equal(missing.statusCode, 400);
      const issue = missing.json<OperationOutcome>().issue[0];
      assert.equal(issue?.code, 'invalid');
      assert.equal(issue?.diagnostics, 'The claim is missing the required endorsement code.');
    }
    const claimed = await post('/Claim', pharmacist, rewrite(loadExample(claimFile), swap));
    assert.equal(claimed.statusCode, 200, `${claimFile}: ${claimed.body}`);
    assert.deepEqual(await statusOf(shortId), ['0008']);
    assert.deepEqual(claimed.json<OperationOutcome>().issue, loadExample<OperationOutcome>(claimFile.replace('-req.json', '-res.json')).issue);
  }
  // The eRD claim, the homecare and community claims and the claim amendment ran in the flows above and in repeat-dispensing.test.ts.
});

test('a dispense notification whose items give different non-dispensing reasons is refused as examples/errors/3 shows', async () => {
  const pharmacist = await createPharmacist(t, randomPharmacyOds());
  const request = loadExample<Bundle>('errors/3-Process-Request-Dispense-400_Invalid_Value.json');
  const response = await post('/$process-message', pharmacist, request);
  assert.equal(response.statusCode, 400);
  const expected = loadExample<OperationOutcome>('errors/3-Process-Response-Dispense-400_Invalid_Value.json');
  const issue = response.json<OperationOutcome>().issue.find((candidate) => candidate.diagnostics === expected.issue[0]?.diagnostics);
  assert.ok(issue, response.body);
  assert.equal(issue.code, expected.issue[0]?.code);
  assert.deepEqual(issue.expression, expected.issue[0]?.expression);
  assert.equal(codeOf(response.json()), 'INVALID_VALUE');
});
