// The SQL of the versioned FHIR resource store: current versions, every past version, and the
// search index rows, always written together in one transaction.
import { coalescedLookup, isPool, perDatabase, type Lookup } from '../db/coalesce.ts';
import type { Database, Queryable } from '../db/connect.ts';
import type { IndexRows } from './extract.ts';
import type { SearchRequest } from './search-query.ts';
import { compileSearch, type CompiledQuery } from './search-sql.ts';

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

/** A version to write with its search index rows. */
export type VersionWrite = { version: NewVersion; index: IndexRows };

/**
 * Writes a version: the current row, the history row and the index rows (replacing the old ones),
 * in one statement, so one round trip whether or not the caller holds a transaction.
 */
export async function writeVersion(db: Queryable, version: NewVersion, index: IndexRows, isNew: boolean): Promise<void> {
  if (isNew) return writeNewVersions(db, [{ version, index }]);
  const { resourceType, id } = version;
  // Deleting the old index rows and inserting the new ones in one statement is safe: every part
  // of a statement sees the same snapshot, so the deletes never see the rows being inserted.
  await db`
    ${versionsWithIndex(db, [{ version, index }])},
    current_version as (update fhir_resource set version_id = v.version_id, last_updated = v.last_updated, deleted = v.deleted, content = v.content
      from versions v where fhir_resource.resource_type = v.resource_type and fhir_resource.id = v.id),
    cleared_tokens as (delete from fhir_token where resource_type = ${resourceType} and id = ${id}),
    cleared_strings as (delete from fhir_string where resource_type = ${resourceType} and id = ${id}),
    cleared_dates as (delete from fhir_date where resource_type = ${resourceType} and id = ${id}),
    cleared_references as (delete from fhir_reference where resource_type = ${resourceType} and id = ${id})
    select 1`;
}

/** Writes the first versions of new resources, with their index rows, in one statement. */
export async function writeNewVersions(db: Queryable, writes: VersionWrite[]): Promise<void> {
  await db`
    ${versionsWithIndex(db, writes)},
    current_version as (insert into fhir_resource (resource_type, id, version_id, last_updated, deleted, content) select * from versions)
    select 1`;
}

/**
 * The common table expressions every write of versions starts with: `versions` (the rows, sent as
 * text arrays, one element per version), then the history rows and index rows written from them.
 */
function versionsWithIndex(db: Queryable, writes: VersionWrite[]) {
  const column = (pick: (version: NewVersion) => string) => writes.map((write) => pick(write.version));
  /** An index table's rows as text columns, led by the resource type and id each belongs to. */
  const indexColumns = <R>(rows: (index: IndexRows) => R[], picks: ((row: R) => string | null)[]): (string | null)[][] => {
    const owned = writes.flatMap((write) => rows(write.index).map((row) => ({ version: write.version, row })));
    return [owned.map(({ version }) => version.resourceType), owned.map(({ version }) => version.id), ...picks.map((pick) => owned.map(({ row }) => pick(row)))];
  };
  const tokens = indexColumns((index) => index.tokens, [(row) => row.param, (row) => row.system, (row) => row.code]);
  const strings = indexColumns((index) => index.strings, [(row) => row.param, (row) => row.normalized, (row) => row.exact]);
  const dates = indexColumns((index) => index.dates, [(row) => row.param, (row) => row.low.toISOString(), (row) => row.high.toISOString()]);
  const references = indexColumns((index) => index.references, [(row) => row.param, (row) => row.target]);
  const textArrays = (columns: (string | null)[][]) => columns.map((values, index) => db`${index === 0 ? db`` : db`, `}${values}::text[]`);
  return db`
    with versions as (
      select resource_type, id, version_id::int, last_updated::timestamptz, deleted::bool, content::json
      from unnest(${textArrays([
        column((version) => version.resourceType), column((version) => version.id), column((version) => String(version.versionId)),
        column((version) => version.lastUpdated.toISOString()), column((version) => String(version.deleted)), column((version) => version.json),
      ])}) as v (resource_type, id, version_id, last_updated, deleted, content)),
    past_version as (insert into fhir_resource_version (resource_type, id, version_id, last_updated, deleted, content) select * from versions),
    tokens as (insert into fhir_token (resource_type, id, param, system, code) select * from unnest(${textArrays(tokens)})),
    strings as (insert into fhir_string (resource_type, id, param, normalized, exact) select * from unnest(${textArrays(strings)})),
    dates as (insert into fhir_date (resource_type, id, param, low, high)
      select resource_type, id, param, low::timestamptz, high::timestamptz from unnest(${textArrays(dates)}) as d (resource_type, id, param, low, high)),
    refs as (insert into fhir_reference (resource_type, id, param, target) select * from unnest(${textArrays(references)}))`;
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
  const { page, total, walked } = compileSearch(request);
  const run = (query: CompiledQuery) => db.unsafe<VersionRow[]>(query.text, query.parameters, { prepare: true });
  // A walked page is the right one only when it is full: a page and one more (search-sql.ts).
  const walkedRows = walked && (await run(walked));
  const rows = walkedRows && walkedRows.length > request.count ? walkedRows : await run(page);
  const count = request.total ? (await db.unsafe<{ total: number }[]>(total.text, total.parameters, { prepare: true }))[0]?.total : undefined;
  return { matches: rows.slice(0, request.count).map(toStored), hasMore: rows.length > request.count, total: count };
}
