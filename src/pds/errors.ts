// The PDS FHIR API's errors, as its spec and error bodies show them
// (../shared/specs/README.md section 1; ../shared/specs/pds/karate-tests/.../errorResponses/).
import { SpineError } from '../platform/errors.ts';

export const PdsErrors = {
  invalidNhsNumber: () => new SpineError({ status: 400, code: 'value', spineCode: 'INVALID_RESOURCE_ID' }),
  notFound: () => new SpineError({ status: 404, code: 'not-found', spineCode: 'RESOURCE_NOT_FOUND', severity: 'information' }),
  invalidated: () => new SpineError({ status: 404, code: 'processing', spineCode: 'INVALIDATED_RESOURCE' }),
  missingRequestId: () =>
    new SpineError({ status: 400, code: 'required', spineCode: 'MISSING_VALUE', diagnostics: 'Invalid request with error - X-Request-ID header must be supplied to access this resource' }),
  missingValue: (diagnostics: string) => new SpineError({ status: 400, code: 'required', spineCode: 'MISSING_VALUE', diagnostics }),
  invalidValue: (value: string, field: string) => new SpineError({ status: 400, code: 'value', spineCode: 'INVALID_VALUE', diagnostics: `Invalid value - '${value}' in field '${field}'` }),
  invalidSearchData: (diagnostics: string) => new SpineError({ status: 400, code: 'value', spineCode: 'INVALID_SEARCH_DATA', diagnostics }),
  unsupportedService: () => new SpineError({ status: 400, code: 'processing', spineCode: 'UNSUPPORTED_SERVICE' }),
  unsupportedPatchMediaType: (contentType: string | undefined) =>
    new SpineError({
      status: 400,
      code: 'processing',
      spineCode: 'UNSUPPORTED_SERVICE',
      diagnostics: `Unsupported Service - Content-Type ${contentType === undefined ? 'is missing' : `'${contentType}' is not supported`}: send application/json-patch+json`,
    }),
  tooManyMatchesForApplication: () =>
    new SpineError({ status: 403, code: 'forbidden', spineCode: 'INVALID_VALUE', diagnostics: 'Application-restricted access returns a single unique match only' }),
  noPatches: () => new SpineError({ status: 400, code: 'structure', spineCode: 'INVALID_UPDATE', diagnostics: 'Invalid update with error - No patches found' }),
  invalidUpdate: (diagnostics: string) => new SpineError({ status: 400, code: 'structure', spineCode: 'INVALID_UPDATE', diagnostics: `Invalid update with error - ${diagnostics}` }),
  forbiddenUpdate: (diagnostics: string) => new SpineError({ status: 403, code: 'forbidden', spineCode: 'FORBIDDEN_UPDATE', severity: 'information', diagnostics }),
  missingIfMatch: () =>
    new SpineError({ status: 412, code: 'structure', spineCode: 'PRECONDITION_FAILED', diagnostics: 'Invalid request with error - If-Match header must be supplied to update this resource' }),
  versionMismatch: (current: number) =>
    new SpineError({ status: 409, code: 'conflict', spineCode: 'RESOURCE_VERSION_MISMATCH', diagnostics: `Invalid update with error - This resource has changed since you last read. Please re-read and try again with the new version number ${current}.` }),
  additionalProperty: (name: string) =>
    new SpineError({ status: 400, code: 'invariant', spineCode: 'ADDITIONAL_PROPERTIES', diagnostics: `Invalid request with error - Additional properties are not allowed ('${name}' was unexpected)` }),
  singleMatch: (nhsNumber: string) =>
    new SpineError({ status: 200, code: 'value', spineCode: 'SINGLE_MATCH', diagnostics: `Unable to create new patient. NHS number ${nhsNumber} found for supplied demographic data.` }),
  multipleMatches: () =>
    new SpineError({ status: 200, code: 'structure', spineCode: 'MULTIPLE_MATCHES', diagnostics: 'Unable to create new patient. Multiple matches found for supplied demographic data.' }),
  notOwnRecord: () => new SpineError({ status: 403, code: 'forbidden', spineCode: 'ACCESS_DENIED', diagnostics: 'Access denied: a patient may see their own record only' }),
};
