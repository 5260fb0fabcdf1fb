// The EPS errors by name, beside the spec's tables of them (fhir-prescribing.yaml and
// fhir-dispensing.yaml, "System Errors"; the bodies of ../shared/specs/eps/examples/spec/errors/).
import type { OperationOutcome, Organization } from '@medplum/fhirtypes';
import { SpineError, type IssueCode, type SpineErrorInit } from '../platform/errors.ts';

const SPINE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/Spine-ErrorOrWarningCode';
const EPS_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/EPS-IssueCode';
export const CANCEL_RESULT_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationrequest-status-history';
const SUPPORTING_INFO = 'https://fhir.nhs.uk/StructureDefinition/Extension-Spine-supportingInfo';

/**
 * An EPS error: its coding's system and display are the ones EPS answers with (they differ from
 * PDS's), and it may name the organisation concerned in `contained`, as a release refused because
 * the prescription is with another dispenser does.
 */
export class EpsError extends SpineError {
  readonly system: string;
  readonly display: string;
  readonly organisation: Organization | undefined;

  constructor(init: SpineErrorInit & { system: string; display: string; organisation?: Organization }) {
    super(init);
    this.system = init.system;
    this.display = init.display;
    this.organisation = init.organisation;
  }

  override toOperationOutcome(): OperationOutcome {
    const outcome = super.toOperationOutcome();
    const [first, ...rest] = outcome.issue;
    if (first) first.details = { coding: [{ system: this.system, code: this.spineCode, display: this.display }] };
    const issue = first ? [first, ...rest] : rest;
    if (!this.organisation?.id) return { ...outcome, issue };
    return {
      ...outcome,
      issue,
      contained: [this.organisation],
      extension: [{ url: SUPPORTING_INFO, valueReference: { reference: `#${this.organisation.id}` } }],
    };
  }
}

function eps(status: number, code: IssueCode, spineCode: string, display: string, extra: { diagnostics?: string; expression?: string; system?: string; organisation?: Organization } = {}): EpsError {
  return new EpsError({
    status,
    code,
    spineCode,
    display,
    system: extra.system ?? EPS_SYSTEM,
    ...(extra.diagnostics === undefined ? {} : { diagnostics: extra.diagnostics }),
    ...(extra.expression === undefined ? {} : { expression: [extra.expression] }),
    ...(extra.organisation === undefined ? {} : { organisation: extra.organisation }),
  });
}

export const EpsErrors = {
  /** As the bulk-translation example 1-Convert-Response-Send-400_Bad_Request.json: a bare issue, without a coding. */
  tooManyLineItems: (maximum: number) =>
    new SpineError({ status: 400, code: 'processing', spineCode: 'INVALID_VALUE', diagnostics: `Bundle contains too many resources of type MedicationRequest. Expected at most ${maximum}.`, expression: ['Bundle.entry'] }),
  /** As examples/errors/1-Process-Response-Send-400_INVALID_CHECKSUM.json: a Spine code, with the reason in its display. */
  invalidCheckDigit: (id: string) =>
    eps(400, 'processing', 'FAILURE_TO_PROCESS_MESSAGE', 'Unable to process message. Information missing or invalid - prescriptionID has invalid checksum', {
      system: SPINE_SYSTEM,
      diagnostics: `Prescription id '${id}' has an invalid check character (INVALID_CHECK_DIGIT)`,
      expression: 'Bundle.entry.resource.ofType(MedicationRequest).groupIdentifier.value',
    }),
  failureToProcess: (reason: string) =>
    eps(400, 'processing', 'FAILURE_TO_PROCESS_MESSAGE', `Unable to process message. Information missing or invalid - ${reason}`, { system: SPINE_SYSTEM, diagnostics: reason }),
  duplicatePrescriptionId: (id: string) =>
    eps(400, 'duplicate', 'DUPLICATE_PRESCRIPTION_ID', 'Duplicate prescription ID exists', { system: SPINE_SYSTEM, diagnostics: `A prescription with id '${id}' already exists` }),
  missingSignature: () =>
    eps(400, 'invalid', 'MISSING_DIGITAL_SIGNATURE', 'Digital signature not found', { system: SPINE_SYSTEM, expression: 'Bundle.entry.resource.ofType(Provenance)' }),
  /** The two signature failures of examples/sandbox/VerifySignature-Response-200_OK.json. */
  signatureInvalid: (diagnostics: string) =>
    eps(400, 'invalid', 'INVALID_VALUE', 'Signature is invalid.', { system: SPINE_SYSTEM, diagnostics, expression: 'Provenance.signature.data' }),
  signatureDoesNotMatch: () =>
    eps(400, 'invalid', 'INVALID', "Signature doesn't match prescription.", {
      system: SPINE_SYSTEM,
      diagnostics: 'The signed digest differs from the digest of this prescription: it was changed after it was signed',
      expression: 'Provenance.signature.data',
    }),
  invalidMessage: (diagnostics: string, expression?: string) =>
    eps(400, 'structure', 'INVALID_MESSAGE', 'The message is not valid.', { diagnostics, ...(expression ? { expression } : {}) }),
  unsupportedMessage: (event: string) =>
    eps(400, 'not-supported', 'INVALID_MESSAGE', 'The message is not valid.', { diagnostics: `Unsupported message event '${event}'`, expression: 'Bundle.entry.resource.ofType(MessageHeader).eventCoding.code' }),
  notPrescriber: (diagnostics: string) =>
    eps(403, 'forbidden', 'ACCESS_DENIED', 'Access denied', { system: SPINE_SYSTEM, diagnostics }),
  notDispenser: (diagnostics: string) =>
    eps(403, 'forbidden', 'ACCESS_DENIED', 'Access denied', { system: SPINE_SYSTEM, diagnostics }),
  prescriptionNotFound: (id: string) =>
    eps(404, 'not-found', 'PRESCRIPTION_NOT_FOUND', 'Prescription not found', { diagnostics: `No prescription with id '${id}'` }),
  releaseNotFound: (id: string) =>
    eps(400, 'not-found', 'RESOURCE_NOT_FOUND', 'Resource not found', { system: SPINE_SYSTEM, diagnostics: `No prescription with id '${id}'` }),
  withAnotherDispenser: (organisation: Organization) =>
    eps(400, 'business-rule', 'PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'Prescription is with another dispenser', { organisation }),
  invalidStateTransition: (diagnostics: string) =>
    eps(400, 'business-rule', 'PRESCRIPTION_INVALID_STATE_TRANSITION', 'The requested operation is not valid for the current state of the prescription', { diagnostics }),
  invalidLineStateTransition: (diagnostics: string) =>
    eps(400, 'business-rule', 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION', 'The requested operation is not valid for the current state of the line item', { diagnostics }),
  itemNotFound: (itemId: string) =>
    eps(400, 'not-found', 'ITEM_NOT_FOUND', 'Item not found', { diagnostics: `The prescription has no line item '${itemId}'` }),
  repeatCountMismatch: (diagnostics: string) =>
    eps(400, 'business-rule', 'MISMATCH_AUTHORISED_REPEAT_COUNTS', 'Authorised repeat counts do not match', { diagnostics }),
  /** The same refusal as a return's (fhir-dispensing.yaml, Task#return: 400 MAX_REPEAT_MISMATCH). */
  maxRepeatMismatch: (diagnostics: string) =>
    eps(400, 'business-rule', 'MAX_REPEAT_MISMATCH', 'Mismatch in authorised repeat counts.', { diagnostics }),
  dispenseAmendMismatch: (diagnostics: string) =>
    eps(400, 'business-rule', 'DISPENSE_AMEND_IDENTIFIER_MISMATCH', 'Replacement target does not match existing claim reference on record', { diagnostics }),
  claimAmendPeriod: () =>
    eps(400, 'business-rule', 'CLAIM_AMEND_PERIOD_ISSUE', 'Claim amendment is not permitted outside of the claim period', {
      diagnostics: 'A claim may be amended until the 5th of the month after the month it was made in',
    }),
};

/** The outcomes of a cancellation that come as an OperationOutcome rather than a Bundle (R-0008, R-5000, R-5888). */
export function cancelOutcomeError(code: 'R-0008' | 'R-5000' | 'R-5888', display: string): EpsError {
  const issueCode: IssueCode = code === 'R-0008' ? 'not-found' : code === 'R-5000' ? 'processing' : 'invalid';
  return eps(400, issueCode, code, display, { system: CANCEL_RESULT_SYSTEM });
}

/** NO_MORE_PRESCRIPTIONS is information, not an error: a nominated release that found nothing. */
export const NO_MORE_PRESCRIPTIONS_SYSTEM = SPINE_SYSTEM;
