// The ids a MedicationRequest carries for its prescription and line item, as HL7 v3 writes them.
import type { MedicationRequest } from '@medplum/fhirtypes';
import { identifierOf, ITEM_SYSTEM } from '../fhir-read.ts';
import { LONG_FORM_EXTENSION } from '../prescription-id.ts';
import { required } from './hl7.ts';

export const itemIdOf = (request: MedicationRequest): string => required(identifierOf(request.identifier, ITEM_SYSTEM), 'MedicationRequest.identifier');

/** The prescription's short form (groupIdentifier.value) and long form (its Extension-DM-PrescriptionId). */
export function prescriptionIdsOf(request: MedicationRequest): { shortId: string; longId: string } {
  return {
    shortId: required(request.groupIdentifier?.value, 'MedicationRequest.groupIdentifier.value'),
    longId: required(request.groupIdentifier?.extension?.find((extension) => extension.url === LONG_FORM_EXTENSION)?.valueIdentifier?.value, 'MedicationRequest.groupIdentifier.extension'),
  };
}
