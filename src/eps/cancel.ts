// Cancellation (prescription-order-update): each MedicationRequest asks for one line item to be
// cancelled, and the answer gives each its result, R-0001 (cancelled) to R-0010, as the spec's
// cancel-response Bundle; not found and mismatches are OperationOutcomes (fhir-prescribing.yaml,
// "Cancellation Errors"; examples/spec/errors/prescription-order-update/).
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, MedicationRequest, MessageHeader } from '@medplum/fhirtypes';
import type { Actor } from '../platform/context.ts';
import type { Database, Queryable } from '../platform/db/connect.ts';
import { CANCEL_RESULT_SYSTEM, cancelOutcomeError } from './errors.ts';
import { identifierOf, ITEM_SYSTEM, MESSAGE_EVENT_SYSTEM, NHS_NUMBER_SYSTEM, ODS_SYSTEM, readMessage, resolve, resourcesOf, ROLE_PROFILE_SYSTEM, USER_ID_SYSTEM } from './fhir-read.ts';
import type { Organization, Patient, Practitioner, PractitionerRole } from '@medplum/fhirtypes';
import { ITEM, STATUS } from './lifecycle.ts';
import { assertIsThePrescriber } from './prescribe.ts';
import { markRequest, type Answer } from './request-log.ts';
import { appendEvents, cancelFutureItems, lineItemsOf, lockIssues, readPrescription, setCancelRequestedBy, setLineItems, updateIssue, type IssueRow, type LineItem, type PrescriptionRow } from './store.ts';

const RESULTS = {
  'R-0001': 'Prescription/item was cancelled',
  'R-0002': 'Prescription/item was not cancelled. With dispenser. Marked for cancellation',
  'R-0003': 'Prescription/item was not cancelled. With dispenser active. Marked for cancellation',
  'R-0004': 'Prescription/item was not cancelled. Prescription has been dispensed',
  'R-0005': 'Prescription/item had expired',
  'R-0006': 'Prescription/item had already been cancelled',
  'R-0007': 'Prescription/item cancellation requested by another prescriber',
  'R-0010': 'Prescription/item was not cancelled. Prescription has been not dispensed',
} as const;
type CancelResult = keyof typeof RESULTS;


export async function cancel(deps: { db: Database; sandbox: boolean }, bundle: Bundle, actor: Actor | undefined): Promise<Answer> {
  const { requests, shortId, itemIds, nhsNumber, canceller } = readMessage(() => readCancellation(bundle), () => cancelOutcomeError('R-5888', 'Invalid Message.'));
  if (!deps.sandbox) assertIsThePrescriber(canceller, actor);

  return deps.db.begin(async (tx) => {
    const prescription = await readPrescription(tx, shortId);
    const issues = prescription ? await lockIssues(tx, shortId) : [];
    const current = issues.find((issue) => issue.status !== STATUS.futureIssue && issue.status !== STATUS.futureIssueCancelled && [STATUS.toBeDispensed, STATUS.withDispenser, STATUS.withDispenserActive].includes(issue.status as '0001'))
      ?? [...issues].reverse().find((issue) => issue.status !== STATUS.futureIssue);
    if (!prescription || !current) throw cancelOutcomeError('R-0008', 'Prescription/item not found');
    if (prescription.patientNhsNumber !== nhsNumber) throw cancelOutcomeError('R-5000', 'Unable to process message. Information missing or invalid - Mismatch between prescription and cancellation NHSNumber');
    if (prescription.prescriberOds !== canceller.prescriberOds) {
      throw cancelOutcomeError('R-5000', 'Unable to process message. Information missing or invalid - the cancellation is not from the prescribing organisation');
    }
    const results = await cancelItems(tx, prescription, current, issues, itemIds, canceller.userId);
    const ok = results.every((result) => result === 'R-0001');
    const answer = { status: ok ? 200 : 400, response: cancelResponse(bundle, requests, results), patients: [nhsNumber], shortIds: [shortId] };
    await markRequest(tx, answer);
    return answer;
  });
}

/** What a cancellation says: its MedicationRequests (one per item to cancel), the prescription, the patient and who cancels. */
function readCancellation(bundle: Bundle) {
  const requests = resourcesOf<MedicationRequest>(bundle, 'MedicationRequest');
  const first = requests[0];
  const shortId = first?.groupIdentifier?.value ?? '';
  const itemIds = requests.map((request) => identifierOf(request.identifier, ITEM_SYSTEM) ?? '');
  const patient = resolve<Patient>(bundle, first?.subject?.reference);
  const nhsNumber = identifierOf(patient?.identifier, NHS_NUMBER_SYSTEM) ?? '';
  const role = resolve<PractitionerRole>(bundle, first?.requester?.reference);
  const canceller = {
    roleProfileId: identifierOf(role?.identifier, ROLE_PROFILE_SYSTEM) ?? '',
    userId: identifierOf(resolve<Practitioner>(bundle, role?.practitioner?.reference)?.identifier, USER_ID_SYSTEM) ?? '',
    prescriberOds: identifierOf(resolve<Organization>(bundle, role?.organization?.reference)?.identifier, ODS_SYSTEM) ?? '',
  };
  if (!first || !shortId || itemIds.includes('') || requests.some((request) => request.groupIdentifier?.value !== shortId || !request.statusReason?.coding?.[0]?.code)) {
    throw cancelOutcomeError('R-5888', 'Invalid Message.');
  }
  return { requests, shortId, itemIds, nhsNumber, canceller };
}

async function cancelItems(tx: Queryable, prescription: PrescriptionRow, issue: IssueRow, issues: IssueRow[], itemIds: string[], userId: string): Promise<CancelResult[]> {
  const items = await lineItemsOf(tx, issue);
  const before = items.map((item) => ({ ...item }));
  const results: CancelResult[] = [];
  for (const itemId of itemIds) {
    const item = items.find((candidate) => candidate.itemId === itemId);
    if (!item) throw cancelOutcomeError('R-0008', 'Prescription/item not found');
    results.push(cancelOne(prescription, issue, item, userId));
  }
  const allCancelled = items.every((item) => item.status === ITEM.cancelled);
  const anyPending = items.some((item) => item.cancelPending);
  if (results.includes('R-0001')) {
    const status = allCancelled ? STATUS.cancelled : issue.status;
    await updateIssue(tx, issue, { status });
    // An item cancelled on the current issue is cancelled on the repeat-dispensing issues to come.
    await cancelFutureItems(tx, issue.shortId, itemIds.filter((_itemId, index) => results[index] === 'R-0001'));
    // Cancelling the prescription cancels the repeat-dispensing issues still to come.
    if (allCancelled) for (const future of issues.filter((candidate) => candidate.status === STATUS.futureIssue)) await updateIssue(tx, future, { status: STATUS.futureIssueCancelled });
    await appendEvents(tx, [{ shortId: issue.shortId, issueNumber: issue.issueNumber, event: 'cancelled', status, actorUserId: userId, actorOds: prescription.prescriberOds, itemsBefore: before }]);
  }
  if (anyPending && (results.includes('R-0002') || results.includes('R-0003'))) {
    await setCancelRequestedBy(tx, prescription.shortId, userId);
    await appendEvents(tx, [{ shortId: issue.shortId, issueNumber: issue.issueNumber, event: 'cancel-pending', status: issue.status, actorUserId: userId, actorOds: prescription.prescriberOds, itemsBefore: before }]);
  }
  await setLineItems(tx, issue, items);
  return results;
}

/** One item's result; the item is changed in place (cancelled, or marked for the dispenser's return). */
function cancelOne(prescription: PrescriptionRow, issue: IssueRow, item: LineItem, userId: string): CancelResult {
  if (item.status === ITEM.cancelled) return 'R-0006';
  if (item.cancelPending) return prescription.cancelRequestedBy === userId ? 'R-0006' : 'R-0007';
  switch (issue.status) {
    case STATUS.toBeDispensed:
      item.status = ITEM.cancelled;
      return 'R-0001';
    case STATUS.withDispenser:
      item.cancelPending = true;
      return 'R-0002';
    case STATUS.withDispenserActive:
      if (item.status === ITEM.dispensed) return 'R-0004';
      if (item.status === ITEM.notDispensed) return 'R-0010';
      item.cancelPending = true;
      return 'R-0003';
    case STATUS.expired:
      return 'R-0005';
    case STATUS.cancelled:
      return 'R-0006';
    case STATUS.notDispensed:
    case STATUS.noClaimed:
      return 'R-0010';
    default:
      return 'R-0004';
  }
}

/** The cancel-response Bundle of bundle-success.json and R-0002-Cancellation.json: the request's resources, each item with its result. */
function cancelResponse(request: Bundle, requests: MedicationRequest[], results: CancelResult[]): Bundle {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');
  const requestId = request.identifier?.value ?? randomUUID();
  const sender = (request.entry?.[0]?.resource as MessageHeader | undefined)?.sender?.identifier?.value ?? '';
  const entries: BundleEntry[] = [];
  const headerId = randomUUID();
  const mrEntries = (request.entry ?? []).filter((entry) => entry.resource?.resourceType === 'MedicationRequest');
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: headerId,
    extension: [{ url: 'https://fhir.nhs.uk/StructureDefinition/Extension-Spine-MessageHeader-messageId', valueIdentifier: { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() } }],
    eventCoding: { system: MESSAGE_EVENT_SYSTEM, code: 'prescription-order-response', display: 'Prescription Order Response' },
    destination: [{ endpoint: `https://directory.spineservices.nhs.uk/STU3/Organization/${sender}`, receiver: { identifier: { system: ODS_SYSTEM, value: sender } } }],
    sender: { identifier: { system: ODS_SYSTEM, value: 'X2601' }, display: 'NHS Digital Spine' },
    source: { name: 'NHS Spine', endpoint: '/electronic-prescriptions/FHIR/R4/$process-message' },
    response: { identifier: requestId, code: 'ok' },
    focus: [...(requests[0]?.subject?.reference ? [{ reference: requests[0].subject.reference }] : []), ...mrEntries.map((entry) => ({ reference: entry.fullUrl ?? '' }))],
  };
  entries.push({ fullUrl: `urn:uuid:${headerId}`, resource: header });
  requests.forEach((medicationRequest, index) => {
    const result = results[index] ?? 'R-0001';
    const answered: MedicationRequest = {
      ...medicationRequest,
      status: result === 'R-0001' ? 'cancelled' : 'active',
      extension: [
        ...(medicationRequest.extension ?? []).filter((extension) => !extension.url.includes('PrescriptionStatusHistory') && !extension.url.includes('PrescriptionTaskStatusReason')),
        {
          url: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionStatusHistory',
          extension: [{ url: 'status', valueCoding: { system: CANCEL_RESULT_SYSTEM, code: result, display: RESULTS[result] } }, { url: 'statusDate', valueDateTime: now }],
        },
      ],
    };
    entries.push({ fullUrl: mrEntries[index]?.fullUrl ?? `urn:uuid:${randomUUID()}`, resource: answered });
  });
  for (const entry of request.entry ?? []) {
    if (['Patient', 'Practitioner', 'PractitionerRole', 'Organization'].includes(entry.resource?.resourceType ?? '')) entries.push(entry);
  }
  return { resourceType: 'Bundle', id: randomUUID(), identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() }, type: 'message', timestamp: now, entry: entries };
}
