import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { buildTestApp } from '../../../test/support/app.ts';
import type { AuditEntry } from '../../platform/audit.ts';
import { EPS_BASE } from '../routes.ts';
import { createPrescriber, EXAMPLES, freshPrescription, loadExample, signThroughPrepare, type Staff } from '../test-kit.ts';
import { parseXml, type XmlChild, type XmlNode } from './xml.ts';

// Every example pair of a supported kind: the FHIR request of the example's folder and number,
// converted through the app, must be the example's HL7 v3 XML, compared as trees. The app's audit
// records are kept here, to see what a conversion is audited with.
const audited: AuditEntry[] = [];
const t = await buildTestApp({ audit: { record: async (entry) => void audited.push(entry) } });
const user = await createPrescriber(t);

/** The FHIR request each kind of Convert-Response example was made from, by the example's number. */
const REQUESTS: Record<string, (number: string) => string> = {
  Send: (number) => `${number}-Process-Request-Send-200_OK.json`,
  Cancel: (number) => `${number}-Process-Request-Cancel-200_OK.json`,
  Dispense: (number) => `${number}-Process-Request-Dispense-200_OK.json`,
  DispenseAmend: (number) => `${number}-Process-Request-DispenseAmend-200_OK.json`,
  Claim: (number) => `${number}-Claim-Request-200_OK.json`,
  Amend: (number) => `${number}-Claim-Request-Amend-200_OK.json`,
  Release: (number) => `${number}-Task-Request-Release-200_OK.json`,
  Return: (number) => `${number}-Task-Request-Return-200_OK.json`,
  Withdraw: (number) => `${number}-Task-Request-Withdraw-200_OK.json`,
};

function examplesOf(kind: string): { expected: string; request: string }[] {
  const found: { expected: string; request: string }[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(path.join(EXAMPLES, folder), { withFileTypes: true })) {
      const relative = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(relative);
      const match = new RegExp(`^(\\d+)-Convert-Response-${kind}-200_OK\\.xml$`).exec(entry.name);
      const request = match?.[1] ? REQUESTS[kind]?.(match[1]) : undefined;
      if (request) found.push({ expected: relative, request: path.join(folder, request) });
    }
  };
  walk('');
  return found.sort((a, b) => a.expected.localeCompare(b.expected));
}

/**
 * The values the real service generates, which no conversion can reproduce: each is a path of
 * element names from the root, the attribute, and the form both sides' value must have before it
 * is set aside. In every message: the time it was made and the ASIDs of the sending and receiving
 * systems (OpenSpine's own; the examples have the NHS sandbox's).
 */
type Generated = [string[], string, RegExp];
const HL7_TIME = /^\d{14}$/;
const ASID = /^\d{12}$/;
const UPPER_CASE_UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const GENERATED: Generated[] = [
  [['creationTime'], 'value', HL7_TIME],
  [['communicationFunctionRcv', 'device', 'id'], 'extension', ASID],
  [['communicationFunctionSnd', 'device', 'id'], 'extension', ASID],
  [['ControlActEvent', 'author1', 'AgentSystemSDS', 'agentSystemSDS', 'id'], 'extension', ASID],
];
const PAYLOAD = ['ControlActEvent', 'subject'];
const SIGNED_NOW: Generated = [[...PAYLOAD, 'DispenseNotification', 'pertinentInformation1', 'pertinentSupplyHeader', 'author', 'time'], 'value', HL7_TIME];
/** And by kind: a cancellation is made now, a dispense notification signed now, and a release request made now with new ids (its Parameters has none). */
const GENERATED_BY_KIND: Record<string, Generated[]> = {
  Cancel: [[[...PAYLOAD, 'CancellationRequest', 'effectiveTime'], 'value', HL7_TIME]],
  Dispense: [SIGNED_NOW],
  DispenseAmend: [SIGNED_NOW],
  Release: [
    [['id'], 'root', UPPER_CASE_UUID],
    [[...PAYLOAD, 'PatientPrescriptionReleaseRequest', 'id'], 'root', UPPER_CASE_UUID],
    [[...PAYLOAD, 'PatientPrescriptionReleaseRequest', 'effectiveTime'], 'value', HL7_TIME],
  ],
};

/**
 * Where an example contradicts its own request: the three homecare dosage-instructions Dispense
 * examples name their line item A54219B8-…-AB6, an id found nowhere in their request (whose
 * MedicationRequest and MedicationDispense are 04F9FDE8-…, F0521C5E-… and B3EDB17A-…). The
 * request's id is put in its place; everything else in them is compared.
 */
const STALE_ITEM_ID = 'A54219B8-F741-4C47-B662-E4F8DFA49AB6';
const EXAMPLE_FAULTS: Record<string, [string, string]> = {
  'secondary-care/homecare/acute/nominated-pharmacy/concurrent-dosage-instructions/1-Convert-Response-Dispense-200_OK.xml': [STALE_ITEM_ID, '04F9FDE8-C218-4E7F-A97C-079187038485'],
  'secondary-care/homecare/acute/nominated-pharmacy/consecutive-dosage-instructions/1-Convert-Response-Dispense-200_OK.xml': [STALE_ITEM_ID, 'F0521C5E-C946-4DB4-BF80-DD82FC1FC90D'],
  'secondary-care/homecare/acute/nominated-pharmacy/consecutive-and-concurrent-dosage-instructions/1-Convert-Response-Dispense-200_OK.xml': [STALE_ITEM_ID, 'B3EDB17A-1FB6-4C47-AF0D-459D6D6D3896'],
};

function expectedXml(example: string): string {
  const xml = readFileSync(path.join(EXAMPLES, example), 'utf8');
  const fault = EXAMPLE_FAULTS[example];
  return fault ? xml.split(fault[0]).join(fault[1]) : xml;
}

/** The signed-in user who converts: the examples' sandbox user is replaced by this test's own, which the conversion must name. */
const SENDER: [string[], string, (staff: Staff) => string][] = [
  [['ControlActEvent', 'author', 'AgentPersonSDS', 'id'], 'extension', (staff) => staff.roleProfileId],
  [['ControlActEvent', 'author', 'AgentPersonSDS', 'agentPersonSDS', 'id'], 'extension', (staff) => staff.userId],
];

const elements = (node: XmlNode, names: string[]): XmlNode[] => {
  const [first, ...rest] = names;
  if (first === undefined) return [node];
  return node.children.filter((child): child is XmlNode => typeof child !== 'string' && child.name === first).flatMap((child) => elements(child, rest));
};

function setAttribute(root: XmlNode, names: string[], attribute: string, value: string, form?: RegExp): void {
  const found = elements(root, names);
  assert.ok(found.length > 0, `no ${names.join('/')} in the message`);
  for (const node of found) {
    if (form) assert.match(node.attributes[attribute] ?? '', form, `${names.join('/')}@${attribute}`);
    node.attributes[attribute] = value;
  }
}

/** The tree of an HL7 v3 document of a kind, with the generated values checked and set aside; an example's sender made `staff`. */
function comparable(xml: string, kind: string, staff?: Staff): XmlNode {
  const [root, ...others] = parseXml(xml);
  assert.ok(root && others.length === 0, 'one root element');
  for (const [names, attribute, form] of [...GENERATED, ...(GENERATED_BY_KIND[kind] ?? [])]) setAttribute(root, names, attribute, '(generated)', form);
  if (staff) for (const [names, attribute, value] of SENDER) setAttribute(root, names, attribute, value(staff));
  return root;
}

/** The first place two trees differ, for a message that says where. */
function firstDifference(actual: XmlChild | undefined, expected: XmlChild | undefined, at: string): string | undefined {
  if (typeof actual === 'string' || typeof expected === 'string' || !actual || !expected) {
    return actual === expected ? undefined : `${at}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`;
  }
  if (actual.name !== expected.name) return `${at}: <${actual.name}> != <${expected.name}>`;
  const here = `${at}/${actual.name}`;
  if (JSON.stringify(Object.entries(actual.attributes).sort()) !== JSON.stringify(Object.entries(expected.attributes).sort())) {
    return `${here}: attributes ${JSON.stringify(actual.attributes)} != ${JSON.stringify(expected.attributes)}`;
  }
  for (let index = 0; index < Math.max(actual.children.length, expected.children.length); index += 1) {
    const difference = firstDifference(actual.children[index], expected.children[index], `${here}[${index}]`);
    if (difference) return difference;
  }
  return undefined;
}

const convert = (staff: Staff, payload: unknown) => t.app.inject({ method: 'POST', url: `${EPS_BASE}/$convert`, headers: staff.headers, payload: payload as object });

for (const kind of Object.keys(REQUESTS)) {
  test(`$convert: every ${kind} example converts to its Convert-Response XML`, async () => {
    const pairs = examplesOf(kind);
    assert.ok(pairs.length > 0, `examples of ${kind}`);
    const failures: string[] = [];
    for (const { expected, request } of pairs) {
      const response = await convert(user, loadExample(request));
      if (response.statusCode !== 200) {
        failures.push(`${request}: ${response.statusCode} ${response.body}`);
        continue;
      }
      assert.match(String(response.headers['content-type']), /^application\/xml/);
      const difference = firstDifference(comparable(response.body, kind), comparable(expectedXml(expected), kind, user), '');
      if (difference) failures.push(`${expected}: ${difference}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${pairs.length} ${kind} examples differ`);
  });
}

test('$convert refuses a prescription of more than four items as bulk-translation/1-Convert-Response-Send-400_Bad_Request.json', async () => {
  const folder = 'secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/multiple-drugs/bulk-translation';
  const response = await convert(user, loadExample(`${folder}/1-Process-Request-Send-400_Bad_Request.json`));
  assert.equal(response.statusCode, 400);
  const expected = loadExample<OperationOutcome>(`${folder}/1-Convert-Response-Send-400_Bad_Request.json`).issue[0];
  const issue = response.json<OperationOutcome>().issue[0];
  assert.equal(issue?.severity, expected?.severity);
  assert.equal(issue?.code, expected?.code);
  assert.equal(issue?.diagnostics, expected?.diagnostics);
  assert.deepEqual(issue?.expression, expected?.expression);
});

/** The names of the payload's children in a converted message whose root is `interaction`. */
function payloadChildren(xml: string, interaction: string, payload: string): string[] {
  const [root] = parseXml(xml);
  assert.equal(root?.name, interaction);
  const [found] = elements(root, [...PAYLOAD, payload]);
  return found?.children.map((child) => (typeof child === 'string' ? child : child.name)) ?? [];
}

test('$convert makes a release without a prescription id the nominated release request (PORX_IN060102SM30); a patient release may have no author', async () => {
  const nominated = await convert(user, loadExample('spec/dispense/Nominated-Pharmacy-Request-Release-200_OK.json'));
  assert.equal(nominated.statusCode, 200, nominated.body);
  assert.deepEqual(payloadChildren(nominated.body, 'PORX_IN060102SM30', 'NominatedPrescriptionReleaseRequest'), ['id', 'effectiveTime', 'author']);
  const patientRelease = loadExample<Parameters>('spec/dispense/Patient-Request-Release-200_OK.json');
  const withoutAgent = await convert(user, { ...patientRelease, parameter: patientRelease.parameter?.filter((parameter) => parameter.name !== 'agent') });
  assert.equal(withoutAgent.statusCode, 200, withoutAgent.body);
  assert.deepEqual(payloadChildren(withoutAgent.body, 'PORX_IN132004SM30', 'PatientPrescriptionReleaseRequest'), ['id', 'effectiveTime', 'pertinentInformation']);
});

test('$convert writes nothing: a converted prescription is not stored, and can be ordered afterwards', async () => {
  const template = loadExample('primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json');
  const fresh = freshPrescription(template, user);
  // A fresh prescription names its prescriber by SDS user id only; HL7 v3 names them by professional code too.
  for (const entry of fresh.bundle.entry ?? []) {
    if (entry.resource?.resourceType === 'Practitioner') entry.resource.identifier?.push({ system: 'https://fhir.hl7.org.uk/Id/gmc-number', value: '6095103' });
  }
  const signed = await signThroughPrepare(t, fresh.bundle, user.headers);
  const converted = await convert(user, signed);
  assert.equal(converted.statusCode, 200, converted.body);
  const prescription = elements(comparable(converted.body, 'Send'), ['ControlActEvent', 'subject', 'ParentPrescription', 'pertinentInformation1', 'pertinentPrescription', 'id']);
  assert.deepEqual(prescription.map((node) => node.attributes), [{ root: fresh.longId.toUpperCase() }, { extension: fresh.shortId, root: '2.16.840.1.113883.2.1.3.2.4.18.8' }]);
  assert.equal((await t.db`select short_id from eps_issue where short_id = ${fresh.shortId}`).length, 0);
  const ordered = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: user.headers, payload: signed });
  assert.equal(ordered.statusCode, 200, ordered.body);
});

test('$convert answers a message it cannot read with the OperationOutcome of an invalid message, never a 500', async () => {
  for (const body of [{ resourceType: 'Patient' }, { resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader', eventCoding: { system: 'https://fhir.nhs.uk/CodeSystem/message-event', code: 'prescription-order' } } }, { resource: null }] }]) {
    const response = await convert(user, body);
    assert.equal(response.statusCode, 400, response.body);
    assert.equal(response.json<OperationOutcome>().issue[0]?.details?.coding?.[0]?.code, 'INVALID_MESSAGE');
  }
});

test('$convert is audited with the patient of the message, refused or not', async () => {
  const order = loadExample('primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json');
  const converted = await convert(user, order);
  assert.equal(converted.statusCode, 200);
  const requestId = String(converted.headers['x-request-id']);
  const entry = audited.find((candidate) => candidate.requestId === requestId);
  assert.deepEqual([entry?.interaction, entry?.outcome, entry?.patientNhsNumbers], ['convert', 'success', ['5839945242']]);
  const refused = await convert(user, { resourceType: 'Patient' });
  const refusal = audited.find((candidate) => candidate.requestId === String(refused.headers['x-request-id']));
  assert.equal(refusal?.outcome, 'failure');
});
