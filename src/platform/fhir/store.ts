// The SQL of the versioned FHIR resource store: current versions, every past version, and the
// search index rows, always written together in one transaction.
import { coalescedLookup, isPool, perDatabase, type Lookup } from '../db/coalesce.ts';
import type { Database, Queryable } from '../db/connect.ts';
import type { IndexRows } from './extract.ts';
import type { SearchRequest } from './search-query.ts';
import { compileSearch } from './search-sql.ts';

/** A stored version, with its content as the JSON text PostgreSQL holds (sent to clients as is). */
export type StoredVersion = {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  deleted: boolean;
  json: string;
};

type VersionRow = { resource_type: string; id: string; version_id: number; last_updated: Date; deleted: boolean; json: string };

const toStored = (row: VersionRow): StoredVersion => ({
  resourceType: row.resource_type,
  id: row.id,
  versionId: Number(row.version_id),
  lastUpdated: row.last_updated,
  deleted: row.deleted,
  json: row.json,
});

/** A version to write, its content already serialised with its meta. */
export type NewVersion = { resourceType: string; id: string; versionId: number; lastUpdated: Date; deleted: boolean; json: string };

export async function readCurrent(db: Queryable, resourceType: string, id: string, forUpdate = false): Promise<StoredVersion | undefined> {
  if (!forUpdate && isPool(db)) return currentVersionLookup(db, resourceType)(id);
  const lock = forUpdate ? db`for update` : db``;
  const [row] = await db<VersionRow[]>`
    select resource_type, id, version_id, last_updated, deleted, content::text as json
    from fhir_resource where resource_type = ${resourceType} and id = ${id} ${lock}`;
  return row && toStored(row);
}

/** Reads of one type outside a transaction, gathered into one statement per turn of the event loop. */
const currentVersionLookups = perDatabase(() => new Map<string, Lookup<StoredVersion>>());

function currentVersionLookup(db: Database, resourceType: string): Lookup<StoredVersion> {
  const byType = currentVersionLookups(db);
  let lookup = byType.get(resourceType);
  if (!lookup) byType.set(resourceType, (lookup = coalescedLookup((ids) => readCurrentMany(db, resourceType, ids))));
  return lookup;
}

/** The current versions of these ids of one type, by id: one statement, one index scan. */
async function readCurrentMany(db: Queryable, resourceType: string, ids: string[]): Promise<Map<string, StoredVersion>> {
  const rows = await db<VersionRow[]>`
    select resource_type, id, version_id, last_updated, deleted, content::text as json
    from fhir_resource where resource_type = ${resourceType} and id = any(${ids}::text[])`;
  return new Map(rows.map((row) => [row.id, toStored(row)]));
}

export async function readVersion(db: Queryable, resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
  const [row] = await db<VersionRow[]>`
    select resource_type, id, version_id, last_updated, deleted, content::text as json
    from fhir_resource_version where resource_type = ${resourceType} and id = ${id} and version_id = ${versionId}`;
  return row && toStored(row);
}

/**
 * Writes a version: the current row, the history row and the index rows (replacing the old ones),
 * in one statement, so one round trip whether or not the caller holds a transaction.
 */
export async function writeVersion(db: Queryable, version: NewVersion, index: IndexRows, isNew: boolean): Promise<void> {
  const { resourceType, id, versionId, lastUpdated, deleted } = version;
  const content = version.json;
  const current = isNew
    ? db`insert into fhir_resource (resource_type, id, version_id, last_updated, deleted, content)
         values (${resourceType}, ${id}, ${versionId}, ${lastUpdated}, ${deleted}, ${content}::text::json)`
    : db`update fhir_resource set version_id = ${versionId}, last_updated = ${lastUpdated}, deleted = ${deleted}, content = ${content}::text::json
         where resource_type = ${resourceType} and id = ${id}`;
  // Deleting the old index rows and inserting the new ones in one statement is safe: every part
  // of a statement sees the same snapshot, so the deletes never see the rows being inserted.
  const cleared = isNew
    ? db``
    : db`, cleared_tokens as (delete from fhir_token where resource_type = ${resourceType} and id = ${id}),
         cleared_strings as (delete from fhir_string where resource_type = ${resourceType} and id = ${id}),
         cleared_dates as (delete from fhir_date where resource_type = ${resourceType} and id = ${id}),
         cleared_references as (delete from fhir_reference where resource_type = ${resourceType} and id = ${id})`;
  await db`
    with current_version as (${current}),
    past_version as (insert into fhir_resource_version (resource_type, id, version_id, last_updated, deleted, content)
      values (${resourceType}, ${id}, ${versionId}, ${lastUpdated}, ${deleted}, ${content}::text::json))
    ${cleared},
    tokens as (insert into fhir_token (resource_type, id, param, system, code)
      select ${resourceType}, ${id}, * from unnest(${index.tokens.map((row) => row.param)}::text[], ${index.tokens.map((row) => row.system)}::text[], ${index.tokens.map((row) => row.code)}::text[])),
    strings as (insert into fhir_string (resource_type, id, param, normalized, exact)
      select ${resourceType}, ${id}, * from unnest(${index.strings.map((row) => row.param)}::text[], ${index.strings.map((row) => row.normalized)}::text[], ${index.strings.map((row) => row.exact)}::text[])),
    dates as (insert into fhir_date (resource_type, id, param, low, high)
      select ${resourceType}, ${id}, * from unnest(${index.dates.map((row) => row.param)}::text[], ${index.dates.map((row) => row.low.toISOString())}::timestamptz[], ${index.dates.map((row) => row.high.toISOString())}::timestamptz[])),
    refs as (insert into fhir_reference (resource_type, id, param, target)
      select ${resourceType}, ${id}, * from unnest(${index.references.map((row) => row.param)}::text[], ${index.references.map((row) => row.target)}::text[]))
    select 1`;
}

export async function history(
  db: Queryable,
  options: { resourceType: string; id?: string; since?: Date; count: number; offset: number },
): Promise<StoredVersion[]> {
  const { resourceType, id, since, count, offset } = options;
  const rows = await db<VersionRow[]>`
    select resource_type, id, version_id, last_updated, deleted, content::text as json
    from fhir_resource_version
    where resource_type = ${resourceType}
      ${id === undefined ? db`` : db`and id = ${id}`}
      ${since === undefined ? db`` : db`and last_updated >= ${since}`}
    order by last_updated desc, version_id desc
    limit ${count} offset ${offset}`;
  return rows.map(toStored);
}

export type SearchResult = { matches: StoredVersion[]; hasMore: boolean; total: number | undefined };

export async function search(db: Queryable, request: SearchRequest): Promise<SearchResult> {
  const { page, total } = compileSearch(request);
  const rows = await db.unsafe<VersionRow[]>(page.text, page.parameters, { prepare: true });
  const count = request.total ? (await db.unsafe<{ total: number }[]>(total.text, total.parameters, { prepare: true }))[0]?.total : undefined;
  return { matches: rows.slice(0, request.count).map(toStored), hasMore: rows.length > request.count, total: count };
}
