// The Patient resource as the platform's validation sees it: PDS keeps its own search keys.
import type { ResourceDefinition } from '../platform/fhir/definitions.ts';

export const PATIENT_DEFINITION: ResourceDefinition = { resourceType: 'Patient', searchParams: [] };
