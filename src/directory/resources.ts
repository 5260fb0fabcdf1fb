// What the directory holds (organisations, systems as Devices, messaging Endpoints) and how each
// is searched. The query shapes follow the SDS FHIR API: values carry their system, e.g.
// `organization=https://fhir.nhs.uk/Id/ods-organization-code|YES` (../shared/specs/README.md section 4).
import type { Organization, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { ResourceDefinition } from '../platform/fhir/definitions.ts';
import { isValidOdsCode, ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';

export const DIRECTORY_RESOURCES: ResourceDefinition[] = [
  {
    resourceType: 'Organization',
    searchParams: [
      { name: 'identifier', type: 'token', expression: 'Organization.identifier', description: 'ODS code: https://fhir.nhs.uk/Id/ods-organization-code|<code>' },
      { name: 'name', type: 'string', expression: 'Organization.name | Organization.alias', description: 'Name or alias (starts with; :exact, :contains)' },
      { name: 'type', type: 'token', expression: 'Organization.type', description: 'Kind of organisation (GP practice, pharmacy, trust)' },
      { name: 'active', type: 'token', expression: 'Organization.active', description: 'Whether the organisation is operational' },
      { name: 'address-postalcode', type: 'string', expression: 'Organization.address.postalCode', description: 'Postcode (starts with)' },
      { name: 'partof', type: 'reference', expression: 'Organization.partOf', description: 'The organisation this one is part of' },
    ],
    validate: odsIdentifiersValid,
  },
  {
    resourceType: 'Device',
    searchParams: [
      { name: 'identifier', type: 'token', expression: 'Device.identifier', description: 'ASID (https://fhir.nhs.uk/Id/nhsSpineASID) or MHS party key' },
      { name: 'organization', type: 'token', expression: 'Device.owner.identifier', description: 'ODS code of the owning organisation' },
    ],
  },
  {
    resourceType: 'Endpoint',
    searchParams: [
      { name: 'identifier', type: 'token', expression: 'Endpoint.identifier', description: 'MHS party key, CPA id, MHS id or FQDN' },
      { name: 'organization', type: 'token', expression: 'Endpoint.managingOrganization.identifier', description: 'ODS code of the managing organisation' },
      { name: 'status', type: 'token', expression: 'Endpoint.status', description: 'active, suspended, error, off, ...' },
      { name: 'connection-type', type: 'token', expression: 'Endpoint.connectionType', description: 'Protocol of the endpoint' },
    ],
  },
];

function odsIdentifiersValid(resource: Resource): OperationOutcomeIssue[] {
  const identifiers = (resource as Organization).identifier ?? [];
  return identifiers.flatMap((identifier, index) =>
    identifier.system === ODS_CODE_SYSTEM && !isValidOdsCode(identifier.value ?? '')
      ? [{ severity: 'error' as const, code: 'value' as const, diagnostics: `Invalid value - '${identifier.value ?? ''}' is not an ODS code`, expression: [`Organization.identifier[${index}].value`] }]
      : [],
  );
}
