// One error type for every service, turned into a FHIR OperationOutcome by one error handler.
// Codes, displays and severities follow ../shared/specs/README.md section 1 and the PDS error
// bodies in ../shared/specs/pds/karate-tests/src/test/java/mocks/stubs/errorResponses/.
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export const SPINE_ERROR_SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';

/** The display of each NHS error code, as the specs show them. */
const DISPLAYS: Record<string, string> = {
  ACCESS_DENIED: 'Access denied',
  ADDITIONAL_PROPERTIES: 'Additional properties should not be included',
  CONFLICT: 'Conflict',
  FORBIDDEN_UPDATE: 'Update is forbidden',
  INVALID_RESOURCE_ID: 'Resource Id is invalid',
  INVALID_SEARCH_DATA: 'Search data is invalid',
  INVALID_UPDATE: 'Update is invalid',
  INVALID_VALUE: 'Provided value is invalid',
  INVALID_REQUEST: 'Invalid request',
  INVALID_RESOURCE: 'Invalid resource',
  INVALIDATED_RESOURCE: 'Resource that has been marked as invalid was requested - invalid resources cannot be retrieved',
  INVALID_CREATE: 'Patient create data is invalid',
  MESSAGE_NOT_WELL_FORMED: 'Message not well formed',
  MISSING_VALUE: 'Required value is missing',
  NOT_ACCEPTABLE: 'Not acceptable',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  PRECONDITION_FAILED: 'Required condition was not fulfilled',
  RESOURCE_DELETED: 'Resource deleted',
  RESOURCE_NOT_FOUND: 'Resource not found',
  RESOURCE_VERSION_MISMATCH: 'Resource version supplied does not match actual version',
  SERVICE_UNAVAILABLE: 'Service unavailable',
  TOO_MANY_REQUESTS: 'Too many requests',
  UNKNOWN_ERROR: 'Unknown error',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  UNSUPPORTED_REQUEST: 'Unsupported request',
  UNSUPPORTED_SERVICE: 'Unsupported Service',
  TOO_FEW_VALUES_SUBMITTED: 'Too few values submitted',
  TOO_MANY_VALUES_SUBMITTED: 'Too many values submitted',
  TOO_MANY_MATCHES: 'Too Many Matches',
  SINGLE_MATCH: 'Single match found',
  MULTIPLE_MATCHES: 'Multiple matches found',
  VALIDATION_ERROR: 'Validation error',
};

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

export type SpineErrorInit = {
  status: number;
  /** FHIR `issue.code`, e.g. `value`, `not-found`. */
  code: IssueCode;
  /** NHS error code, e.g. `INVALID_RESOURCE_ID`. */
  spineCode: string;
  diagnostics?: string;
  severity?: IssueSeverity;
  /** FHIRPath of the element at fault, one per issue (style habit 3). */
  expression?: string[];
  headers?: Record<string, string>;
  /** Further issues reported together with the first (validation reports them all at once). */
  moreIssues?: OperationOutcomeIssue[];
};

export class SpineError extends Error {
  readonly status: number;
  readonly code: IssueCode;
  readonly spineCode: string;
  readonly diagnostics: string | undefined;
  readonly severity: IssueSeverity;
  readonly expression: string[] | undefined;
  readonly headers: Record<string, string>;
  readonly moreIssues: OperationOutcomeIssue[];

  constructor(init: SpineErrorInit) {
    super(init.diagnostics ?? init.spineCode);
    this.name = 'SpineError';
    this.status = init.status;
    this.code = init.code;
    this.spineCode = init.spineCode;
    this.diagnostics = init.diagnostics;
    this.severity = init.severity ?? 'error';
    this.expression = init.expression;
    this.headers = init.headers ?? {};
    this.moreIssues = init.moreIssues ?? [];
  }

  /** The same error, its diagnostics prefixed with where it happened (e.g. a bundle entry). */
  prefixed(where: string): SpineError {
    return new SpineError({
      status: this.status,
      code: this.code,
      spineCode: this.spineCode,
      severity: this.severity,
      diagnostics: where + (this.diagnostics ?? this.spineCode),
      headers: this.headers,
      moreIssues: this.moreIssues,
      ...(this.expression ? { expression: this.expression } : {}),
    });
  }

  toOperationOutcome(): OperationOutcome {
    const first: OperationOutcomeIssue = {
      severity: this.severity,
      code: this.code,
      details: { coding: [spineCoding(this.spineCode)] },
      ...(this.diagnostics === undefined ? {} : { diagnostics: this.diagnostics }),
      ...(this.expression === undefined ? {} : { expression: this.expression }),
    };
    return { resourceType: 'OperationOutcome', issue: [first, ...this.moreIssues] };
  }
}

export function spineCoding(code: string): { system: string; version: string; code: string; display: string } {
  return { system: SPINE_ERROR_SYSTEM, version: '1', code, display: DISPLAYS[code] ?? code };
}

/** The platform's own errors; each service keeps a catalogue like this in its errors.ts. */
export const Errors = {
  missingValue: (diagnostics: string, expression?: string) =>
    new SpineError({ status: 400, code: 'required', spineCode: 'MISSING_VALUE', diagnostics, ...(expression ? { expression: [expression] } : {}) }),
  invalidValue: (diagnostics: string, expression?: string) =>
    new SpineError({ status: 400, code: 'value', spineCode: 'INVALID_VALUE', diagnostics, ...(expression ? { expression: [expression] } : {}) }),
  invalidResourceId: (id: string) =>
    new SpineError({ status: 400, code: 'value', spineCode: 'INVALID_RESOURCE_ID', diagnostics: `Invalid resource ID - '${id}'` }),
  invalidSearchData: (diagnostics: string) =>
    new SpineError({ status: 400, code: 'value', spineCode: 'INVALID_SEARCH_DATA', diagnostics }),
  invalidResource: (issues: OperationOutcomeIssue[]) => {
    const [first, ...rest] = issues;
    return new SpineError({
      status: 400,
      code: first?.code ?? 'invalid',
      spineCode: 'INVALID_RESOURCE',
      diagnostics: first?.diagnostics ?? 'Invalid resource',
      ...(first?.expression ? { expression: first.expression } : {}),
      moreIssues: rest.map((issue) => ({ ...issue, details: { coding: [spineCoding('INVALID_RESOURCE')] } })),
    });
  },
  invalidUpdate: (diagnostics: string) =>
    new SpineError({ status: 400, code: 'structure', spineCode: 'INVALID_UPDATE', diagnostics }),
  malformedBody: (diagnostics: string) =>
    new SpineError({ status: 400, code: 'structure', spineCode: 'MESSAGE_NOT_WELL_FORMED', diagnostics }),
  unauthenticated: (diagnostics: string) =>
    new SpineError({ status: 401, code: 'forbidden', spineCode: 'ACCESS_DENIED', diagnostics, headers: { 'www-authenticate': 'Bearer' } }),
  accessDenied: (diagnostics: string) =>
    new SpineError({ status: 403, code: 'forbidden', spineCode: 'ACCESS_DENIED', diagnostics }),
  notFound: (diagnostics: string) =>
    new SpineError({ status: 404, code: 'not-found', spineCode: 'RESOURCE_NOT_FOUND', severity: 'information', diagnostics }),
  deleted: (diagnostics: string) =>
    new SpineError({ status: 410, code: 'deleted', spineCode: 'RESOURCE_DELETED', severity: 'information', diagnostics }),
  unsupportedRequest: (diagnostics: string) =>
    new SpineError({ status: 404, code: 'not-supported', spineCode: 'UNSUPPORTED_REQUEST', diagnostics }),
  methodNotAllowed: (diagnostics: string) =>
    new SpineError({ status: 405, code: 'not-supported', spineCode: 'UNSUPPORTED_REQUEST', diagnostics }),
  notAcceptable: (diagnostics: string) =>
    new SpineError({ status: 406, code: 'not-supported', spineCode: 'NOT_ACCEPTABLE', diagnostics }),
  versionMismatch: (diagnostics: string) =>
    new SpineError({ status: 409, code: 'conflict', spineCode: 'RESOURCE_VERSION_MISMATCH', diagnostics }),
  preconditionFailed: (diagnostics: string) =>
    new SpineError({ status: 412, code: 'structure', spineCode: 'PRECONDITION_FAILED', diagnostics }),
  payloadTooLarge: (diagnostics: string) =>
    new SpineError({ status: 413, code: 'too-costly', spineCode: 'PAYLOAD_TOO_LARGE', diagnostics }),
  unsupportedMediaType: (diagnostics: string) =>
    new SpineError({ status: 415, code: 'not-supported', spineCode: 'UNSUPPORTED_MEDIA_TYPE', diagnostics }),
  tooManyRequests: (retryAfterSeconds: number) =>
    new SpineError({ status: 429, code: 'throttled', spineCode: 'TOO_MANY_REQUESTS', diagnostics: 'Too many requests; try again later', headers: { 'retry-after': String(retryAfterSeconds) } }),
  readOnly: (retryAfterSeconds: number) =>
    new SpineError({
      status: 503,
      code: 'transient',
      spineCode: 'SERVICE_UNAVAILABLE',
      diagnostics: 'OpenSpine is in read-only mode for maintenance; reads work, writes are refused until it ends',
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  unavailable: (diagnostics: string, retryAfterSeconds: number) =>
    new SpineError({ status: 503, code: 'transient', spineCode: 'SERVICE_UNAVAILABLE', diagnostics, headers: { 'retry-after': String(retryAfterSeconds) } }),
  unknown: () =>
    new SpineError({ status: 500, code: 'exception', spineCode: 'UNKNOWN_ERROR', diagnostics: 'An unexpected error occurred; it has been logged with the request id' }),
};
