// What a service declares about each resource type it serves: its search parameters and its own
// validation rules. The platform's store, search and CapabilityStatement are driven by these.
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

export const SEARCH_PARAM_TYPES = ['token', 'string', 'date', 'reference'] as const;
export type SearchParamType = (typeof SEARCH_PARAM_TYPES)[number];

export type SearchParamDefinition = {
  name: string;
  type: SearchParamType;
  /** FHIRPath that selects the values to index, e.g. `Organization.identifier`. */
  expression: string;
  description: string;
};

export type ResourceDefinition = {
  resourceType: string;
  searchParams: SearchParamDefinition[];
  /** Rules of the service beyond the FHIR R4 base definitions; problems are data (style habit 3). */
  validate?: (resource: Resource) => OperationOutcomeIssue[];
};

/** Logical ids: FHIR R4 `id` datatype, https://hl7.org/fhir/R4/datatypes.html#id */
export const RESOURCE_ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
