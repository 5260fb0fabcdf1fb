// JSON Patch (RFC 6902) of a resource, all operations or none; `test` included.
// The wrapped form {"patches": [...]} of the PDS FHIR API is accepted as well as a bare array
// (../shared/specs/README.md section 1, PATCH rules).
import type { Resource } from '@medplum/fhirtypes';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { Errors } from '../errors.ts';

const { applyPatch, JsonPatchError } = jsonpatch;

/** Paths the server owns: a patch may not touch them. */
const SERVER_OWNED = /^\/(id|resourceType|meta\/versionId|meta\/lastUpdated|meta)$/;

export function readPatchOperations(body: unknown): Operation[] {
  const operations = Array.isArray(body) ? body : (body as { patches?: unknown } | null)?.patches;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw Errors.invalidUpdate('Invalid update with error - No patches found');
  }
  const notAnOperation = operations.findIndex((operation) => typeof operation !== 'object' || operation === null || Array.isArray(operation));
  if (notAnOperation >= 0) throw Errors.invalidUpdate(`Invalid update with error - patch ${notAnOperation} is not an operation`);
  return operations as Operation[];
}

export function applyResourcePatch(resource: Resource, operations: Operation[]): Resource {
  operations.forEach((operation, index) => {
    const path = (operation as { path?: unknown }).path;
    if (typeof path === 'string' && SERVER_OWNED.test(path)) {
      throw Errors.invalidUpdate(`Invalid update with error - patch ${index} changes '${path}', which the server maintains`);
    }
  });
  try {
    return applyPatch(resource, operations, true, false).newDocument;
  } catch (error) {
    if (error instanceof JsonPatchError) {
      const what = error.name === 'TEST_OPERATION_FAILED' ? 'its test failed' : error.name.toLowerCase().replace(/_/g, ' ');
      throw Errors.invalidUpdate(`Invalid update with error - patch ${error.index ?? 0} could not be applied: ${what}`);
    }
    throw error;
  }
}
