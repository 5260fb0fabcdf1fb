// Reading the dispensing messages: dispense-notification bundles, return and withdraw Tasks, and
// Claims (fhir-dispensing.yaml; examples/spec/dispensing/**), every one checked before it is used.
import type { Bundle, Claim, MedicationDispense, MedicationRequest, MessageHeader, Task } from '@medplum/fhirtypes';
import { EpsErrors } from './errors.ts';
import {
  BUSINESS_STATUS_EXTENSION, CLAIM_REQUEST_REFERENCE, ENDORSEMENT_SYSTEM, extensionOf, GROUP_IDENTIFIER, identifierOf, isResource, Issues, ITEM_SYSTEM, NHS_NUMBER_SYSTEM, REPEAT_INFORMATION, REPLACEMENT_OF, resolve, resourcesOf,
} from './fhir-read.ts';
import { DISPENSE_NOTIFICATION_STATUSES, DISPENSED_ITEM_STATUSES } from './lifecycle.ts';


const NON_DISPENSING_REASON = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionNonDispensingReason';

/**
 * Every numberOfRepeatsAllowed a dispensing message states in an Extension-EPS-RepeatInformation,
 * wherever it is (a MedicationDispense, its contained MedicationRequest's basedOn, a Claim item or
 * detail, a Task): each must match the prescription's (MISMATCH_AUTHORISED_REPEAT_COUNTS).
 */
export function repeatsAllowedIn(message: unknown): number[] {
  const found: number[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const record = value as { url?: unknown; extension?: unknown };
    if (record.url === REPEAT_INFORMATION && Array.isArray(record.extension)) {
      for (const inner of record.extension as { url?: unknown; valueInteger?: unknown; valueUnsignedInt?: unknown }[]) {
        const count = inner.valueInteger ?? inner.valueUnsignedInt;
        if (inner.url === 'numberOfRepeatsAllowed' && typeof count === 'number') found.push(count);
      }
    }
    for (const child of Object.values(value)) walk(child);
  };
  walk(message);
  return found;
}

export type DispenseNotification = {
  shortId: string;
  patientNhsNumber: string;
  /** The prescription status the pharmacy reports: 0003, 0006 or 0007. */
  status: string;
  items: { itemId: string; status: string }[];
  messageId: string;
  /** The dispense notification this one replaces (a dispense amendment), by its message id. */
  replaces: string | undefined;
};

export function readDispenseNotification(bundle: Bundle): DispenseNotification {
  const issues = new Issues();
  const header = bundle.entry?.[0]?.resource as MessageHeader;
  const dispenses = resourcesOf<MedicationDispense>(bundle, 'MedicationDispense');
  if (dispenses.length === 0) issues.add('A dispense notification needs at least one MedicationDispense', 'Bundle.entry.resource.ofType(MedicationDispense)', 'required');
  const read = dispenses.map((dispense) => {
    const request = resolve<MedicationRequest>(bundle, dispense.authorizingPrescription?.[0]?.reference, dispense.contained ?? []);
    return {
      shortId: request?.groupIdentifier?.value ?? '',
      itemId: identifierOf(request?.identifier, ITEM_SYSTEM) ?? '',
      status: extensionOf(dispense, BUSINESS_STATUS_EXTENSION)?.valueCoding?.code ?? '',
      itemStatus: dispense.type?.coding?.[0]?.code ?? '',
      nhsNumber: dispense.subject?.identifier?.system === NHS_NUMBER_SYSTEM ? dispense.subject.identifier.value ?? '' : '',
    };
  });
  if (read.some((dispense) => !dispense.shortId || !dispense.itemId)) {
    issues.add('Each MedicationDispense must authorise from a MedicationRequest with the prescription id and item number', 'MedicationDispense.authorizingPrescription');
  }
  if (new Set(read.map((dispense) => dispense.shortId)).size > 1) issues.add('All MedicationDispenses must be for the same prescription', 'MedicationDispense.authorizingPrescription');
  const statuses = new Set(read.map((dispense) => dispense.status));
  if (statuses.size > 1) issues.add('Expected all MedicationDispenses to have the same value for MedicationDispense.extension:taskBusinessStatus', 'MedicationDispense.extension:taskBusinessStatus', 'invalid');
  const [status = ''] = [...statuses];
  if (!DISPENSE_NOTIFICATION_STATUSES.includes(status)) issues.add('The prescription status of a dispense notification must be 0003, 0006 or 0007', 'MedicationDispense.extension:taskBusinessStatus');
  if (read.some((dispense) => !DISPENSED_ITEM_STATUSES.includes(dispense.itemStatus))) issues.add('MedicationDispense.type must be a dispensed item status (0001 to 0005)', 'MedicationDispense.type');
  // As examples/errors/3-Process-Response-Dispense-400_Invalid_Value.json: one non-dispensing reason for the whole prescription.
  const nonDispensingReasons = new Set(dispenses.map((dispense) => extensionOf(dispense, NON_DISPENSING_REASON)?.valueCoding?.code ?? ''));
  if (nonDispensingReasons.size > 1) {
    issues.add('Expected all MedicationDispenses to have the same value for MedicationDispense.extension:prescriptionNonDispensingReason', 'MedicationDispense.extension:prescriptionNonDispensingReason', 'invalid');
  }
  const nhsNumbers = new Set(read.map((dispense) => dispense.nhsNumber));
  if (nhsNumbers.size !== 1 || nhsNumbers.has('')) issues.add('Each MedicationDispense must name the patient by NHS number, the same in all', 'MedicationDispense.subject.identifier');
  const messageId = bundle.identifier?.value ?? '';
  if (!messageId) issues.add('The Bundle needs an identifier, the message id a withdrawal names', 'Bundle.identifier', 'required');
  issues.throwIfAny();
  // Several MedicationDispenses for one item (several packs): the item takes the last one's status.
  const items = new Map<string, string>();
  for (const dispense of read) items.set(dispense.itemId, dispense.itemStatus);
  return {
    shortId: read[0]?.shortId ?? '',
    patientNhsNumber: [...nhsNumbers][0] ?? '',
    status,
    items: [...items].map(([itemId, itemStatus]) => ({ itemId, status: itemStatus })),
    messageId,
    replaces: extensionOf(header, REPLACEMENT_OF)?.valueIdentifier?.value,
  };
}

export type TaskMessage = { kind: 'return' | 'withdraw'; shortId: string; patientNhsNumber: string; reason: string; messageId: string; withdraws: string | undefined };

/** A return (status rejected, code fulfill) or a withdrawal (status in-progress, code abort). */
export function readTask(body: unknown): TaskMessage {
  if (!isResource(body, 'Task')) throw EpsErrors.invalidMessage('The body must be a FHIR Task', 'Task');
  const task = body as Task;
  const code = task.code?.coding?.[0]?.code;
  // fhir-dispensing.yaml, "Verification errors": the status says which (a return's code may be
  // fulfill or change, as the secondary-care examples have it); a withdrawal needs its code.
  if (task.status !== 'rejected' && task.status !== 'in-progress') throw EpsErrors.invalidMessage("Task.status must be one of: 'in-progress', 'rejected'", 'Task.status');
  if (task.status === 'in-progress' && code === undefined) throw EpsErrors.invalidMessage("Task.code is required when Task.status is 'in-progress'.", 'Task.code');
  if (task.status === 'in-progress' && code !== 'abort') throw EpsErrors.invalidMessage("A withdrawal (Task.status 'in-progress') must have Task.code 'abort'", 'Task.code');
  const kind = task.status === 'rejected' ? 'return' : 'withdraw';
  const issues = new Issues();
  const shortId = task.groupIdentifier?.value ?? '';
  if (!shortId) issues.add('Task.groupIdentifier must be the prescription id', 'Task.groupIdentifier', 'required');
  const patientNhsNumber = task.for?.identifier?.system === NHS_NUMBER_SYSTEM ? task.for.identifier.value ?? '' : '';
  if (!patientNhsNumber) issues.add("Task.for must be the patient's NHS number", 'Task.for.identifier', 'required');
  const reason = task.statusReason?.coding?.[0]?.code ?? '';
  if (!reason) issues.add('Task.statusReason must give the reason', 'Task.statusReason', 'required');
  issues.throwIfAny();
  return { kind, shortId, patientNhsNumber, reason, messageId: task.identifier?.[0]?.value ?? task.id ?? '', withdraws: kind === 'withdraw' ? task.focus?.identifier?.value : undefined };
}

export type ClaimMessage = { shortId: string; patientNhsNumber: string; status: string; itemIds: string[]; claimId: string; replaces: string | undefined };

export function readClaim(body: unknown): ClaimMessage {
  if (!isResource(body, 'Claim')) throw EpsErrors.invalidMessage('The body must be a FHIR Claim', 'Claim');
  const claimResource = body as Claim;
  const issues = new Issues();
  if (claimResource.use !== 'claim') issues.add("Claim.use must be 'claim'", 'Claim.use');
  const group = extensionOf(claimResource.prescription, GROUP_IDENTIFIER);
  const shortId = extensionOf(group, 'shortForm')?.valueIdentifier?.value ?? '';
  if (!shortId) issues.add('Claim.prescription must carry the prescription id (Extension-DM-GroupIdentifier shortForm)', 'Claim.prescription.extension', 'required');
  const patientNhsNumber = claimResource.patient?.identifier?.system === NHS_NUMBER_SYSTEM ? claimResource.patient.identifier.value ?? '' : '';
  if (!patientNhsNumber) issues.add("Claim.patient must be the patient's NHS number", 'Claim.patient.identifier', 'required');
  const item = claimResource.item?.[0];
  const status = extensionOf(item, BUSINESS_STATUS_EXTENSION)?.valueCoding?.code ?? '';
  const itemIds = (item?.detail ?? []).map((detail) => extensionOf(detail, CLAIM_REQUEST_REFERENCE)?.valueReference?.identifier?.value ?? '');
  if (itemIds.length === 0 || itemIds.includes('')) issues.add('Each Claim.item.detail must reference its line item', 'Claim.item.detail.extension:medicationRequestReference');
  // fhir-dispensing.yaml, "Verification errors": "The claim is missing the required endorsement code."
  const details = (claimResource.item ?? []).flatMap((claimItem) => claimItem.detail ?? []);
  if (details.some((detail) => !(detail.programCode ?? []).some((code) => code.coding?.some((coding) => coding.system === ENDORSEMENT_SYSTEM && coding.code)))) {
    issues.add('The claim is missing the required endorsement code.', 'Claim.item.detail.programCode', 'invalid');
  }
  const claimId = claimResource.identifier?.[0]?.value ?? '';
  if (!claimId) issues.add('Claim.identifier is required', 'Claim.identifier', 'required');
  issues.throwIfAny();
  return { shortId, patientNhsNumber, status, itemIds, claimId, replaces: extensionOf(claimResource, REPLACEMENT_OF)?.valueIdentifier?.value };
}
