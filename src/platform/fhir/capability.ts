// The CapabilityStatement of a service base, built from what the service actually declared.
// https://hl7.org/fhir/R4/capabilitystatement.html
import type { CapabilityStatement, CapabilityStatementRest, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { ResourceDefinition } from './definitions.ts';

/** A service's CapabilityStatement around what its REST interface offers: who it is, where, in which format. */
export function serviceCapability(options: { software: string; description: string; baseUrl: string; patch?: boolean }, rest: CapabilityStatementRest): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: CAPABILITY_DATE,
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    ...(options.patch ? { patchFormat: ['application/json-patch+json'] } : {}),
    software: { name: options.software, version: '0.1.0' },
    implementation: { description: options.description, url: options.baseUrl },
    rest: [rest],
  };
}

/** When the statements last changed (CapabilityStatement.date is required). */
const CAPABILITY_DATE = '2026-11-22';

export function capabilityStatement(options: { name: string; baseUrl: string; resources: Iterable<ResourceDefinition>; date: string }): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: options.date,
    kind: 'instance',
    name: options.name,
    software: { name: 'OpenSpine', version: '0.1.0' },
    implementation: { description: options.name, url: options.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        resource: [...options.resources].map((definition) => ({
          type: definition.resourceType as CapabilityStatementRestResource['type'],
          interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({
            code: code as 'read',
          })),
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: false,
          conditionalCreate: false,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          searchParam: [
            { name: '_id', type: 'token', documentation: 'Logical id' },
            { name: '_lastUpdated', type: 'date', documentation: 'When the resource last changed' },
            ...definition.searchParams.map((param) => ({ name: param.name, type: param.type, documentation: param.description })),
          ],
        })),
        interaction: [{ code: 'transaction' }],
      },
    ],
  };
}
