// GET /metadata of the EPS base: what OpenSpine's EPS implements, as a CapabilityStatement
// (../shared/specs/README.md section 2: "Also: $validate, $convert (→ HL7 v3), GET /metadata").
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { serviceCapability } from '../platform/fhir/capability.ts';

/** The EPS API's own operations are defined by its catalogue page; the others are FHIR's. */
const EPS_API = 'https://digital.nhs.uk/developer/api-catalogue/electronic-prescription-service-fhir';
const OPERATIONS = [
  { name: 'prepare', definition: EPS_API, description: 'the digest a prescriber signs for an unsigned prescription-order' },
  { name: 'process-message', definition: 'http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message', description: 'prescription-order, prescription-order-update (cancel) and dispense-notification messages' },
  { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate', description: 'a message checked as its endpoint would check it, changing nothing' },
  { name: 'release', definition: EPS_API, description: 'Task/$release: nominated release (25 at most) or release of one prescription by its id' },
  { name: 'convert', definition: EPS_API, description: 'the HL7 v3 message EPS sends to Spine for a FHIR message, as application/xml, changing nothing: prescription-order, prescription-order-update (cancel) and dispense-notification messages, Task/$release Parameters, return and withdrawal Tasks, and Claims' },
];

export function epsCapability(baseUrl: string): CapabilityStatement {
  return serviceCapability({ software: 'OpenSpine Electronic Prescription Service', description: 'EPS FHIR Prescribing and Dispensing APIs', baseUrl }, {
    mode: 'server',
    resource: [
      {
        type: 'Task',
        interaction: [{ code: 'create' }, { code: 'search-type' }],
        searchParam: ['focus:identifier', 'identifier', 'patient:identifier', 'business-status', 'authored-on'].map((name) => ({ name, type: name === 'authored-on' ? 'date' : 'token' })),
      },
      { type: 'Claim', interaction: [{ code: 'create' }] },
    ],
    operation: OPERATIONS.map(({ name, definition, description }) => ({ name, definition, documentation: description })),
  });
}
