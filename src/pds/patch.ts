// PATCH /Patient/{nhsNumber}: the PDS form of JSON Patch, {"patches": [...]}, applied atomically
// over the version named in If-Match. ../shared/specs/README.md section 1, "PATCH rules".
import type { Patient } from '@medplum/fhirtypes';
import type { Operation } from 'fast-json-patch';
import { inTransaction } from '../platform/fhir/resources.ts';
import { applyResourcePatch } from '../platform/fhir/patch.ts';
import { validationIssues } from '../platform/fhir/validate.ts';
import type { Database, Queryable } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import { PdsErrors } from './errors.ts';
import { PATIENT_DEFINITION } from './patient-definition.ts';
import { searchKeysOf, type SearchKeys } from './search-keys.ts';
import { addPreviousValue, readPatient, writePatient, type PatientRow } from './store.ts';

/** What PDS does not let a client change: the NHS number, the id, the metadata. */
const FORBIDDEN_PATHS = /^\/(id|resourceType|meta|identifier)(\/|$)/;
/** A list item: removing one needs a test of its id just before (PDS source). */
const LIST_ITEM = /^\/(name|address|telecom|contact|generalPractitioner|extension)\/\d+$/;

export function readPdsPatches(body: unknown): Operation[] {
  const patches = (body as { patches?: unknown } | null)?.patches;
  if (!Array.isArray(patches) || patches.length === 0) throw PdsErrors.noPatches();
  const operations = patches as Operation[];
  operations.forEach((operation, index) => {
    if (typeof operation !== 'object' || operation === null) throw PdsErrors.invalidUpdate(`Patch ${index} is not an operation`);
    if (!['add', 'replace', 'remove', 'test'].includes(operation.op)) throw PdsErrors.invalidUpdate(`Unsupported operation '${String(operation.op)}' in patch ${index}`);
    if (typeof operation.path !== 'string') throw PdsErrors.invalidUpdate(`Patch ${index} has no path`);
    if (FORBIDDEN_PATHS.test(operation.path)) throw PdsErrors.forbiddenUpdate(`Forbidden update with error - '${operation.path}' cannot be changed`);
    if (operation.op === 'remove' && LIST_ITEM.test(operation.path)) {
      const previous = operations[index - 1];
      if (previous?.op !== 'test' || previous.path !== `${operation.path}/id`) {
        throw PdsErrors.invalidUpdate(`Invalid patch - removing '${operation.path}' needs a test of '${operation.path}/id' just before it`);
      }
    }
  });
  return operations;
}

/**
 * PDS takes JSON Patch as application/json-patch+json, and application/json too (the NHS sandbox
 * allows it because its gateway may rewrite the type); any other type, or none, is 400
 * UNSUPPORTED_SERVICE as the sandbox answers it (patient-patch.yaml: "Wrong content type").
 */
const PATCH_MEDIA_TYPES = new Set(['application/json-patch+json', 'application/json']);

export function assertPatchMediaType(contentType: string | undefined): void {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType === undefined || !PATCH_MEDIA_TYPES.has(mediaType)) throw PdsErrors.unsupportedPatchMediaType(contentType);
}

export function expectedVersion(ifMatch: string | undefined): number {
  const match = ifMatch === undefined ? null : /^W\/"([0-9]+)"$/.exec(ifMatch);
  if (!match) throw PdsErrors.missingIfMatch();
  return Number(match[1]);
}

/**
 * Applies the patches over `version`. With `keep` false (the sandbox's fixed patients) the update is
 * checked and answered as if made, but nothing is written.
 */
export async function patchPatient(db: Database, nhsNumber: string, operations: Operation[], version: number, keep = true): Promise<PatientRow> {
  return inTransaction(db, async (tx) => {
    const current = await readPatient(tx, nhsNumber, true);
    if (!current) throw PdsErrors.notFound();
    if (current.versionId !== version) throw PdsErrors.versionMismatch(current.versionId);
    const before = JSON.parse(current.record) as Patient;
    const patched = applyResourcePatch({ ...before, resourceType: 'Patient', id: current.nhsNumber }, operations) as Patient;
    const issues = validationIssues(PATIENT_DEFINITION, patched);
    if (issues.length > 0) throw Errors.invalidResource(issues);
    const { id: _id, meta: _meta, ...record } = patched;
    const next = { nhsNumber: current.nhsNumber, versionId: current.versionId + 1, lastUpdated: new Date(), record: record as Patient, restricted: current.restricted, keys: searchKeysOf(patched) };
    if (keep) {
      await writePatient(tx, next, current.versionId);
      await keepPreviousValues(tx, current.nhsNumber, searchKeysOf(before), next.keys);
    }
    return { ...current, versionId: next.versionId, lastUpdated: next.lastUpdated, record: JSON.stringify(record) };
  });
}

/**
 * A family name, first given name, postcode, email or phone that an update replaced or removed
 * stays findable by a history search (and any fuzzy one); a name's Soundex code is kept with the
 * birth date, as the fuzzy search looks it up (migration 0013).
 */
async function keepPreviousValues(tx: Queryable, nhsNumber: string, before: SearchKeys, after: SearchKeys): Promise<void> {
  for (const key of ['family', 'given', 'postcode', 'email', 'phone'] as const) {
    const previous = before[key];
    if (previous && previous !== after[key]) await addPreviousValue(tx, nhsNumber, key, previous);
  }
  const phonetic = (code: string, birthDate: string | null) => (code && birthDate ? `${code} ${birthDate}` : null);
  for (const [key, field] of [['family_phonetic', 'familyPhonetic'], ['given_phonetic', 'givenPhonetic']] as const) {
    const previous = phonetic(before[field], before.birthDate);
    if (previous !== null && previous !== phonetic(after[field], after.birthDate)) await addPreviousValue(tx, nhsNumber, key, previous);
  }
}
