// Small readers of the FHIR resources EPS messages carry: identifiers by system, extensions by
// URL, references resolved inside a message bundle, and validation issues collected as data.
import type { Bundle, BundleEntry, Extension, Identifier, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { SpineError, spineCoding } from '../platform/errors.ts';
import { EpsErrors } from './errors.ts';

export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ROLE_PROFILE_SYSTEM = 'https://fhir.nhs.uk/Id/sds-role-profile-id';
export const USER_ID_SYSTEM = 'https://fhir.nhs.uk/Id/sds-user-id';
export const ITEM_SYSTEM = 'https://fhir.nhs.uk/Id/prescription-order-item-number';
export const MESSAGE_EVENT_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/message-event';
export const BUSINESS_STATUS_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/EPS-task-business-status';
export const BUSINESS_STATUS_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-TaskBusinessStatus';
export const UUID_SYSTEM = 'https://tools.ietf.org/html/rfc4122';
export const REPLACEMENT_OF = 'https://fhir.nhs.uk/StructureDefinition/Extension-replacementOf';
export const GROUP_IDENTIFIER = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-GroupIdentifier';
export const CLAIM_REQUEST_REFERENCE = 'https://fhir.nhs.uk/StructureDefinition/Extension-ClaimMedicationRequestReference';
export const ENDORSEMENT_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationdispense-endorsement';
export const REPEAT_INFORMATION = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation';

/**
 * Reads a message with a reader of this module's kind, which only walks the JSON it is given: a
 * message so malformed that the walk fails (a null where a resource is, a string where a list is)
 * is the client's INVALID_MESSAGE, never a 500.
 */
export function readMessage<T>(read: () => T, refusal: (reason: string) => SpineError = (reason) => EpsErrors.invalidMessage(`The message is not well formed: ${reason}`)): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof SpineError) throw error;
    throw refusal(error instanceof Error ? error.message : String(error));
  }
}

export function identifierOf(identifiers: Identifier | Identifier[] | undefined, system: string): string | undefined {
  const list = identifiers === undefined ? [] : Array.isArray(identifiers) ? identifiers : [identifiers];
  return list.find((identifier) => identifier.system === system)?.value;
}

export function extensionOf(holder: { extension?: Extension[] } | undefined, url: string): Extension | undefined {
  return holder?.extension?.find((extension) => extension.url === url);
}

export function resourcesOf<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).map((entry) => entry.resource).filter((resource): resource is T => resource?.resourceType === type);
}

/** The resource a reference names: `urn:uuid:` full URLs in a message bundle, or `#id` in `contained`. */
export function resolve<T extends Resource>(bundle: Bundle, reference: string | undefined, contained: Resource[] = []): T | undefined {
  if (reference === undefined) return undefined;
  if (reference.startsWith('#')) return contained.find((resource) => resource.id === reference.slice(1)) as T | undefined;
  const entry = (bundle.entry ?? []).find((candidate: BundleEntry) => candidate.fullUrl === reference || (candidate.resource?.id !== undefined && reference.endsWith(`/${candidate.resource.id}`)));
  return entry?.resource as T | undefined;
}

/** Validation problems as data (style habit 3): collected, then thrown together. */
export class Issues {
  readonly list: OperationOutcomeIssue[] = [];

  add(diagnostics: string, expression: string, code: OperationOutcomeIssue['code'] = 'value'): void {
    this.list.push({ severity: 'error', code, diagnostics, expression: [expression] });
  }

  /** Throws INVALID_VALUE with every problem found, the first as the error and the rest after it. */
  throwIfAny(): void {
    const [first, ...rest] = this.list;
    if (!first) return;
    throw new SpineError({
      status: 400,
      code: first.code,
      spineCode: 'INVALID_VALUE',
      diagnostics: first.diagnostics ?? 'Invalid value',
      ...(first.expression ? { expression: first.expression } : {}),
      moreIssues: rest.map((issue) => ({ ...issue, details: { coding: [spineCoding('INVALID_VALUE')] } })),
    });
  }
}

/** Whether a parsed JSON body is a FHIR resource of this type. */
export function isResource(body: unknown, type: string): body is Resource {
  return typeof body === 'object' && body !== null && (body as { resourceType?: unknown }).resourceType === type;
}
