// The operations of the versioned resource store: create, read, vread, update with optimistic
// concurrency, patch, delete, history and search. Plain functions: no HTTP here.
// https://hl7.org/fhir/R4/http.html
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { Operation } from 'fast-json-patch';
import { batchedEach, isPool, perDatabase } from '../db/coalesce.ts';
import type { Database, Queryable, Transaction } from '../db/connect.ts';
import { Errors } from '../errors.ts';
import { RESOURCE_ID_PATTERN, type ResourceDefinition } from './definitions.ts';
import { extractIndexRows, NO_INDEX_ROWS } from './extract.ts';
import { applyResourcePatch } from './patch.ts';
import { parseSearch, type QueryValues, type SearchRequest } from './search-query.ts';
import * as store from './store.ts';
import { assertValid } from './validate.ts';

export type { StoredVersion } from './store.ts';
type StoredVersion = store.StoredVersion;

/** The resource types one service base serves, and the database they live in. */
export type FhirStore = { db: Database; resources: ReadonlyMap<string, ResourceDefinition> };

export function definitionOf(fhir: FhirStore, resourceType: string): ResourceDefinition {
  const definition = fhir.resources.get(resourceType);
  if (!definition) throw Errors.unsupportedRequest(`Unsupported resource type '${resourceType}'`);
  return definition;
}

export function assertResourceId(id: string): void {
  if (!RESOURCE_ID_PATTERN.test(id)) throw Errors.invalidResourceId(id);
}

/** Runs the work in the given transaction, or in a new one when given the pool. */
export function inTransaction<T>(db: Queryable, work: (tx: Transaction) => Promise<T>): Promise<T> {
  if ('savepoint' in db) return work(db);
  return db.begin((tx) => work(tx)) as Promise<T>;
}

/** Creates a resource with a new id (or the one a transaction bundle assigned it). */
export async function createResource(
  fhir: FhirStore,
  resourceType: string,
  body: unknown,
  db: Queryable = fhir.db,
  id: string = randomUUID(),
): Promise<StoredVersion> {
  const definition = definitionOf(fhir, resourceType);
  const resource = expectResource(body, resourceType);
  return writeNewVersion(db, definition, { ...resource, id }, 1, true);
}

export async function readResource(fhir: FhirStore, resourceType: string, id: string, db: Queryable = fhir.db): Promise<StoredVersion> {
  definitionOf(fhir, resourceType);
  assertResourceId(id);
  const current = await store.readCurrent(db, resourceType, id);
  return assertLive(current, resourceType, id);
}

export async function readResourceVersion(fhir: FhirStore, resourceType: string, id: string, versionText: string): Promise<StoredVersion> {
  definitionOf(fhir, resourceType);
  assertResourceId(id);
  const versionId = Number(versionText);
  if (!/^\d{1,15}$/.test(versionText)) throw Errors.invalidValue(`Invalid value - '${versionText}' as a version id`);
  const version = await store.readVersion(fhir.db, resourceType, id, versionId);
  if (!version) throw Errors.notFound(`Version ${versionText} of ${resourceType}/${id} not found`);
  if (version.deleted) throw Errors.deleted(`Version ${versionText} of ${resourceType}/${id} is a deletion`);
  return version;
}

export async function updateResource(
  fhir: FhirStore,
  resourceType: string,
  id: string,
  body: unknown,
  ifMatch: string | undefined,
  db: Queryable = fhir.db,
): Promise<StoredVersion> {
  const definition = definitionOf(fhir, resourceType);
  assertResourceId(id);
  const resource = expectResource(body, resourceType);
  if (resource.id !== id) throw Errors.invalidValue(`Invalid value - the resource id '${resource.id ?? ''}' does not match '${id}' in the URL`, `${resourceType}.id`);
  const expected = expectedVersion(ifMatch);
  return inTransaction(db, async (tx) => {
    const current = assertLive(await store.readCurrent(tx, resourceType, id, true), resourceType, id);
    assertVersion(current, expected);
    return writeNewVersion(tx, definition, resource, current.versionId + 1, false);
  });
}

export async function patchResource(
  fhir: FhirStore,
  resourceType: string,
  id: string,
  operations: Operation[],
  ifMatch: string | undefined,
  db: Queryable = fhir.db,
): Promise<StoredVersion> {
  const definition = definitionOf(fhir, resourceType);
  assertResourceId(id);
  const expected = expectedVersion(ifMatch);
  return inTransaction(db, async (tx) => {
    const current = assertLive(await store.readCurrent(tx, resourceType, id, true), resourceType, id);
    assertVersion(current, expected);
    const patched = applyResourcePatch(JSON.parse(current.json) as Resource, operations);
    return writeNewVersion(tx, definition, patched, current.versionId + 1, false);
  });
}

/** Deletes (a new, deleted version); deleting what is already deleted changes nothing. */
export async function deleteResource(fhir: FhirStore, resourceType: string, id: string, db: Queryable = fhir.db): Promise<void> {
  definitionOf(fhir, resourceType);
  assertResourceId(id);
  await inTransaction(db, async (tx) => {
    const current = await store.readCurrent(tx, resourceType, id, true);
    if (!current) throw Errors.notFound(`${resourceType}/${id} not found`);
    if (current.deleted) return;
    const lastUpdated = new Date();
    const content = JSON.parse(current.json) as Resource;
    const versionId = current.versionId + 1;
    content.meta = { ...content.meta, versionId: String(versionId), lastUpdated: lastUpdated.toISOString() };
    await store.writeVersion(tx, { resourceType, id, versionId, lastUpdated, deleted: true, json: JSON.stringify(content) }, NO_INDEX_ROWS, false);
  });
}

export async function resourceHistory(
  fhir: FhirStore,
  options: { resourceType: string; id?: string; since?: Date; count: number; offset: number },
): Promise<StoredVersion[]> {
  definitionOf(fhir, options.resourceType);
  if (options.id !== undefined) {
    assertResourceId(options.id);
    const current = await store.readCurrent(fhir.db, options.resourceType, options.id);
    if (!current) throw Errors.notFound(`${options.resourceType}/${options.id} not found`);
  }
  return store.history(fhir.db, options);
}

export async function searchResources(fhir: FhirStore, resourceType: string, query: QueryValues): Promise<{ request: SearchRequest; result: store.SearchResult }> {
  const request = parseSearch(definitionOf(fhir, resourceType), query);
  return { request, result: await store.search(fhir.db, request) };
}

async function writeNewVersion(db: Queryable, definition: ResourceDefinition, resource: Resource, versionId: number, isNew: boolean): Promise<StoredVersion> {
  const lastUpdated = new Date();
  const content = { ...resource, meta: { ...resource.meta, versionId: String(versionId), lastUpdated: lastUpdated.toISOString() } } as Resource;
  assertValid(definition, content);
  const version = { resourceType: definition.resourceType, id: content.id as string, versionId, lastUpdated, deleted: false, json: JSON.stringify(content) };
  const index = extractIndexRows(definition, content);
  if (isNew && isPool(db)) {
    await newVersionWriter(db)({ version, index });
  } else await store.writeVersion(db, version, index, isNew);
  return version;
}

/**
 * Creates outside a transaction are written together: one statement and one commit for all those
 * of a turn of the event loop, each answered once that commit is done. Should PostgreSQL refuse the
 * statement, its creates are written again in halves down to one alone (batchedEach), so that a
 * create the database refuses fails only itself.
 */
const newVersionWriter = perDatabase((db) =>
  batchedEach<store.VersionWrite, void>(
    async (writes) => {
      await store.writeNewVersions(db, writes);
      return writes.map(() => ({ value: undefined }));
    },
    (write) => store.writeNewVersions(db, [write]),
  ),
);

function expectResource(body: unknown, resourceType: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw Errors.malformedBody(`The body must be a FHIR ${resourceType} resource in JSON`);
  }
  const resource = body as Resource;
  if (resource.resourceType !== resourceType) {
    throw Errors.invalidValue(`Invalid value - resourceType '${String(resource.resourceType)}' where '${resourceType}' was expected`, 'resourceType');
  }
  return resource;
}

function assertLive(version: StoredVersion | undefined, resourceType: string, id: string): StoredVersion {
  if (!version) throw Errors.notFound(`${resourceType}/${id} not found`);
  if (version.deleted) throw Errors.deleted(`${resourceType}/${id} has been deleted`);
  return version;
}

/** `If-Match: W/"n"` is required to change a resource, so nothing is ever silently overwritten. */
function expectedVersion(ifMatch: string | undefined): number {
  const match = ifMatch === undefined ? null : /^W\/"(\d{1,15})"$/.exec(ifMatch);
  if (!match) throw Errors.preconditionFailed('Invalid request with error - If-Match header must be supplied to update this resource');
  return Number(match[1]);
}

function assertVersion(current: StoredVersion, expected: number): void {
  if (current.versionId !== expected) {
    throw Errors.versionMismatch(`Invalid update with error - This resource has changed since you last read. Please re-read and try again with the new version number (current version ${current.versionId}).`);
  }
}
