// $validate (fhir-prescribing.yaml and fhir-dispensing.yaml, POST /FHIR/R4/$validate): a message
// checked as the endpoint it is meant for would check it, and against the FHIR R4 base definitions,
// without acting on it or looking anything up. The answer is 200 with an OperationOutcome listing
// every problem found, or one informational issue saying there is none (FHIR R4, Resource $validate:
// "the outcome of the validation is returned as an OperationOutcome").
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { SpineError } from '../platform/errors.ts';
import { validationIssues } from '../platform/fhir/validate.ts';
import { readClaim, readDispenseNotification, readTask } from './dispense-messages.ts';
import { EpsErrors } from './errors.ts';
import { readMessage } from './fhir-read.ts';
import { messageEventOf, readPrescriptionOrder } from './order.ts';
import { readReleaseRequest } from './release.ts';

/**
 * The EPS reader of each kind of message: what $process-message, Task, Claim and Task/$release
 * refuse before they look anything up; and the patient the message is about, when it names one. A
 * cancellation (prescription-order-update) is read as it is acted on, so it is checked against the
 * base definitions only.
 */
function readAsItsEndpoint(resource: Resource): string[] {
  switch (resource.resourceType) {
    case 'Bundle': {
      const { bundle, event } = messageEventOf(resource);
      if (event === 'prescription-order') return [readPrescriptionOrder(bundle).patientNhsNumber];
      if (event === 'dispense-notification') return [readDispenseNotification(bundle).patientNhsNumber];
      if (event !== 'prescription-order-update') throw EpsErrors.unsupportedMessage(event);
      return [];
    }
    case 'Task':
      return [readTask(resource).patientNhsNumber];
    case 'Claim':
      return [readClaim(resource).patientNhsNumber];
    case 'Parameters':
      readReleaseRequest(resource);
      return [];
    default:
      return [];
  }
}

/** The outcome of the checks, and the patients the message names (when it could be read), for its audit record. */
export function validateMessage(body: unknown): { outcome: OperationOutcome; patients: string[] } {
  if (typeof body !== 'object' || body === null || typeof (body as { resourceType?: unknown }).resourceType !== 'string') {
    return { outcome: outcome([{ severity: 'error', code: 'structure', diagnostics: 'The body must be a FHIR resource (JSON with a resourceType)' }]), patients: [] };
  }
  const resource = body as Resource;
  const issues: OperationOutcomeIssue[] = [...validationIssues(undefined, resource)];
  let patients: string[] = [];
  // The endpoint's checks read a message that is FHIR; one that is not already has its issues.
  if (issues.length === 0) {
    try {
      patients = readMessage(() => readAsItsEndpoint(resource)).filter((nhsNumber) => nhsNumber !== '');
    } catch (error) {
      if (!(error instanceof SpineError)) throw error;
      issues.push(...error.toOperationOutcome().issue);
    }
  }
  return { outcome: outcome(issues.length > 0 ? issues : [{ severity: 'information', code: 'informational', diagnostics: 'No issues detected during validation' }]), patients };
}

const outcome = (issue: OperationOutcomeIssue[]): OperationOutcome => ({ resourceType: 'OperationOutcome', issue });
