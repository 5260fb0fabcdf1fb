// Bundles: searchset and history answers (built from the stored JSON text without re-parsing it),
// and transaction bundles, processed all-or-nothing in one database transaction.
// https://hl7.org/fhir/R4/http.html#transaction
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Transaction } from '../db/connect.ts';
import { Errors, SpineError } from '../errors.ts';
import { createResource, deleteResource, inTransaction, type FhirStore, type StoredVersion, updateResource } from './resources.ts';
import type { SearchRequest } from './search-query.ts';

export const MAX_TRANSACTION_ENTRIES = 1000;

export function etagOf(version: { versionId: number }): string {
  return `W/"${version.versionId}"`;
}

export function searchsetJson(options: {
  baseUrl: string;
  request: SearchRequest;
  query: string;
  matches: StoredVersion[];
  hasMore: boolean;
  /**
   * The parameters that select the next page in place of `_offset`, for a search paged by a key
   * (the audit trail's); by default, the next page's `_offset`.
   */
  nextPage?: Record<string, string>;
  total: number | undefined;
  /** Warnings about the answer as a whole, as an entry of mode outcome: https://hl7.org/fhir/R4/search.html#errors */
  outcome?: OperationOutcome;
}): string {
  const { baseUrl, request, matches } = options;
  const typeUrl = `${baseUrl}/${request.resourceType}`;
  const pageUrl = (page: Record<string, string>) => {
    const params = new URLSearchParams(options.query);
    params.delete('_offset');
    for (const [name, value] of Object.entries(page)) params.set(name, value);
    const text = params.toString();
    return text ? `${typeUrl}?${text}` : typeUrl;
  };
  const atOffset = (offset: number): Record<string, string> => (offset > 0 ? { _offset: String(offset) } : {});
  const links = [{ relation: 'self', url: pageUrl(atOffset(request.offset)) }];
  if (options.hasMore) links.push({ relation: 'next', url: pageUrl(options.nextPage ?? atOffset(request.offset + request.count)) });
  if (request.offset > 0) links.push({ relation: 'previous', url: pageUrl(atOffset(Math.max(0, request.offset - request.count))) });
  const entries = matches.map(
    (match) => `{"fullUrl":${JSON.stringify(`${typeUrl}/${match.id}`)},"resource":${match.json},"search":{"mode":"match"}}`,
  );
  if (options.outcome) entries.unshift(JSON.stringify({ resource: options.outcome, search: { mode: 'outcome' } }));
  const total = options.total === undefined ? '' : `"total":${options.total},`;
  return `{"resourceType":"Bundle","type":"searchset",${total}"link":${JSON.stringify(links)},"entry":[${entries.join(',')}]}`;
}

export function historyJson(baseUrl: string, versions: StoredVersion[]): string {
  const entries = versions.map((version) => {
    const url = `${baseUrl}/${version.resourceType}/${version.id}`;
    const method = version.deleted ? 'DELETE' : version.versionId === 1 ? 'POST' : 'PUT';
    const request = { method, url: method === 'POST' ? version.resourceType : `${version.resourceType}/${version.id}` };
    const response = { status: version.deleted ? '204' : version.versionId === 1 ? '201' : '200', etag: etagOf(version), lastModified: version.lastUpdated.toISOString() };
    const resource = version.deleted ? '' : `"resource":${version.json},`;
    return `{"fullUrl":${JSON.stringify(url)},${resource}"request":${JSON.stringify(request)},"response":${JSON.stringify(response)}}`;
  });
  return `{"resourceType":"Bundle","type":"history","entry":[${entries.join(',')}]}`;
}

/** Processes a transaction bundle: every entry or none. Returns the transaction-response bundle. */
export async function processTransaction(fhir: FhirStore, baseUrl: string, body: unknown): Promise<Bundle> {
  const bundle = body as Bundle;
  if (typeof body !== 'object' || body === null || bundle.resourceType !== 'Bundle') {
    throw Errors.invalidValue("Invalid value - the body must be a Bundle of type 'transaction'", 'Bundle');
  }
  if (bundle.type !== 'transaction') throw Errors.invalidValue(`Invalid value - Bundle.type '${String(bundle.type)}': only 'transaction' is supported`, 'Bundle.type');
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw Errors.invalidValue('Invalid value - Bundle.entry must be a list', 'Bundle.entry');
  const notAnEntry = entries.findIndex((entry) => typeof entry !== 'object' || entry === null || Array.isArray(entry));
  if (notAnEntry >= 0) throw Errors.invalidValue(`Invalid value - Bundle.entry[${notAnEntry}] is not an entry`, `Bundle.entry[${notAnEntry}]`);
  if (entries.length > MAX_TRANSACTION_ENTRIES) throw Errors.invalidValue(`A transaction may hold at most ${MAX_TRANSACTION_ENTRIES} entries`, 'Bundle.entry');

  // New ids for created resources first, so that references between entries can be resolved.
  const newIds = new Map<string, string>();
  entries.forEach((entry, index) => {
    if (entry.request?.method === 'POST' && entry.fullUrl?.startsWith('urn:uuid:')) {
      newIds.set(entry.fullUrl, `${entryResource(entry, index).resourceType}/${randomUUID()}`);
    }
  });
  // FHIR's processing order: deletes, then creates, then updates.
  const order = ['DELETE', 'POST', 'PUT'];
  const sorted = entries.map((entry, index) => ({ entry, index })).sort(
    (a, b) => order.indexOf(a.entry.request?.method ?? '') - order.indexOf(b.entry.request?.method ?? ''),
  );
  const responses: BundleEntry[] = new Array<BundleEntry>(entries.length);
  await inTransaction(fhir.db, async (tx) => {
    for (const { entry, index } of sorted) {
      try {
        responses[index] = await processEntry(fhir, tx, baseUrl, entry, index, newIds);
      } catch (error) {
        throw error instanceof SpineError ? error.prefixed(`Bundle.entry[${index}]: `) : error;
      }
    }
  });
  return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
}

async function processEntry(
  fhir: FhirStore,
  tx: Transaction,
  baseUrl: string,
  entry: BundleEntry,
  index: number,
  newIds: Map<string, string>,
): Promise<BundleEntry> {
  const method = entry.request?.method;
  const url = entry.request?.url ?? '';
  const [resourceType = '', id] = url.split('?')[0]?.split('/') ?? [];
  switch (method) {
    case 'POST': {
      const resource = resolveReferences(entryResource(entry, index), newIds);
      const assigned = entry.fullUrl ? newIds.get(entry.fullUrl)?.split('/')[1] : undefined;
      const created = await createResource(fhir, resourceType, resource, tx, assigned);
      return versionResponse(baseUrl, created, '201 Created');
    }
    case 'PUT': {
      if (!id) throw Errors.invalidValue(`Bundle.entry[${index}].request.url must be Type/id for PUT`);
      const resource = resolveReferences(entryResource(entry, index), newIds);
      const updated = await updateResource(fhir, resourceType, id, resource, entry.request?.ifMatch, tx);
      return versionResponse(baseUrl, updated, '200 OK');
    }
    case 'DELETE': {
      if (!id) throw Errors.invalidValue(`Bundle.entry[${index}].request.url must be Type/id for DELETE`);
      await deleteResource(fhir, resourceType, id, tx);
      return { response: { status: '204 No Content' } };
    }
    default:
      throw Errors.invalidValue(`Bundle.entry[${index}].request.method '${String(method)}' is not supported in a transaction (POST, PUT, DELETE)`);
  }
}

function entryResource(entry: BundleEntry, index: number): Resource {
  if (!entry.resource) throw Errors.invalidValue(`Bundle.entry[${index}].resource is missing`, `Bundle.entry[${index}].resource`);
  return entry.resource;
}

function versionResponse(baseUrl: string, version: StoredVersion, status: string): BundleEntry {
  return {
    response: {
      status,
      location: `${baseUrl}/${version.resourceType}/${version.id}/_history/${version.versionId}`,
      etag: etagOf(version),
      lastModified: version.lastUpdated.toISOString(),
    },
  };
}

/** Replaces references to the bundle's `urn:uuid:` entries with the ids assigned to them. */
function resolveReferences<T>(value: T, newIds: Map<string, string>): T {
  if (newIds.size === 0) return value;
  return JSON.parse(JSON.stringify(value), (key, item: unknown) =>
    key === 'reference' && typeof item === 'string' ? (newIds.get(item) ?? item) : item,
  ) as T;
}
