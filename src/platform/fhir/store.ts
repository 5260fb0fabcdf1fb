// The SQL of the versioned FHIR resource store: current versions, every past version, and the
// search index rows, always written together in one transaction.
import type { Resource } from '@medplum/fhirtypes';
import type postgres from 'postgres';
import type { Queryable, Transaction } from '../db/connect.ts';
import type { IndexRows } from './extract.ts';
import type { DateValue, SearchClause, SearchRequest } from './search-query.ts';

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

export type NewVersion = { resourceType: string; id: string; versionId: number; lastUpdated: Date; deleted: boolean; content: Resource };

export async function readCurrent(db: Queryable, resourceType: string, id: string, forUpdate = false): Promise<StoredVersion | undefined> {
  const lock = forUpdate ? db`for update` : db``;
  const [row] = await db<VersionRow[]>`
    select resource_type, id, version_id, last_updated, deleted, content::text as json
    from fhir_resource where resource_type = ${resourceType} and id = ${id} ${lock}`;
  return row && toStored(row);
}

export async function readVersion(db: Queryable, resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
  const [row] = await db<VersionRow[]>`
    select resource_type, id, version_id, last_updated, deleted, content::text as json
    from fhir_resource_version where resource_type = ${resourceType} and id = ${id} and version_id = ${versionId}`;
  return row && toStored(row);
}

/**
 * Writes a version: the current row, the history row and the index rows (replacing the old ones).
 * The statements are sent together (pipelined) inside the caller's transaction.
 */
export async function writeVersion(tx: Transaction, version: NewVersion, index: IndexRows | undefined, isNew: boolean): Promise<void> {
  const { resourceType, id, versionId, lastUpdated, deleted, content } = version;
  const json = tx.json(content as unknown as postgres.JSONValue);
  const owner = { resource_type: resourceType, id };
  const statements: Promise<unknown>[] = [
    isNew
      ? tx`insert into fhir_resource (resource_type, id, version_id, last_updated, deleted, content)
           values (${resourceType}, ${id}, ${versionId}, ${lastUpdated}, ${deleted}, ${json})`
      : tx`update fhir_resource set version_id = ${versionId}, last_updated = ${lastUpdated}, deleted = ${deleted}, content = ${json}
           where resource_type = ${resourceType} and id = ${id}`,
    tx`insert into fhir_resource_version (resource_type, id, version_id, last_updated, deleted, content)
       values (${resourceType}, ${id}, ${versionId}, ${lastUpdated}, ${deleted}, ${json})`,
  ];
  if (!isNew) {
    for (const table of ['fhir_token', 'fhir_string', 'fhir_date', 'fhir_reference']) {
      statements.push(tx`delete from ${tx(table)} where resource_type = ${resourceType} and id = ${id}`);
    }
  }
  if (index) {
    if (index.tokens.length) statements.push(tx`insert into fhir_token ${tx(index.tokens.map((row) => ({ ...owner, ...row })))}`);
    if (index.strings.length) statements.push(tx`insert into fhir_string ${tx(index.strings.map((row) => ({ ...owner, ...row })))}`);
    if (index.dates.length) statements.push(tx`insert into fhir_date ${tx(index.dates.map((row) => ({ ...owner, ...row })))}`);
    if (index.references.length) statements.push(tx`insert into fhir_reference ${tx(index.references.map((row) => ({ ...owner, ...row })))}`);
  }
  await Promise.all(statements);
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
  const where = [db`r.resource_type = ${request.resourceType}`, db`not r.deleted`, ...request.clauses.map((clause) => clauseSql(db, request.resourceType, clause))];
  const condition = joinFragments(db, where, 'and');
  const order = joinFragments(db, request.sort.map((key) => {
    const column = key.field === '_id' ? db`r.id` : db`r.last_updated`;
    return key.descending ? db`${column} desc` : db`${column} asc`;
  }), ',');
  const rows = await db<VersionRow[]>`
    select r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content::text as json
    from fhir_resource r where ${condition}
    order by ${order}, r.id
    limit ${request.count + 1} offset ${request.offset}`;
  const total = request.total ? Number((await db<{ total: number }[]>`select count(*) as total from fhir_resource r where ${condition}`)[0]?.total ?? 0) : undefined;
  return { matches: rows.slice(0, request.count).map(toStored), hasMore: rows.length > request.count, total };
}

type Fragment = postgres.PendingQuery<postgres.Row[]>;

function clauseSql(db: Queryable, resourceType: string, clause: SearchClause): Fragment {
  switch (clause.kind) {
    case 'id':
      return db`r.id = any(${clause.values})`;
    case 'lastUpdated':
      return anyOf(db, clause.values.map((value) => instantCondition(db, db`r.last_updated`, value)));
    case 'token':
      return db`r.id in (select id from fhir_token where resource_type = ${resourceType} and param = ${clause.param} and (${anyOf(
        db,
        clause.values.map(({ system, code }) => {
          const codeMatch = code === undefined ? db`true` : db`code = ${code}`;
          if (system === undefined) return codeMatch;
          return system === null ? db`${codeMatch} and system is null` : db`${codeMatch} and system = ${system}`;
        }),
      )}))`;
    case 'string': {
      const matches = clause.values.map((value) => {
        if (clause.match === 'exact') return db`exact = ${value}`;
        if (clause.match === 'contains') return db`normalized like ${'%' + escapeLike(value) + '%'}`;
        // A prefix is a range of the "C"-collated index: [value, value + the highest code point).
        return db`normalized >= ${value} and normalized < ${value + '\u{10FFFF}'}`;
      });
      return db`r.id in (select id from fhir_string where resource_type = ${resourceType} and param = ${clause.param} and (${anyOf(db, matches)}))`;
    }
    case 'date':
      return db`r.id in (select id from fhir_date where resource_type = ${resourceType} and param = ${clause.param} and (${anyOf(
        db,
        clause.values.map((value) => rangeCondition(db, value)),
      )}))`;
    case 'reference':
      return db`r.id in (select id from fhir_reference where resource_type = ${resourceType} and param = ${clause.param} and target = any(${clause.values}))`;
  }
}

/** The FHIR date prefixes over an indexed range [low, high]: https://hl7.org/fhir/R4/search.html#prefix */
function rangeCondition(db: Queryable, { prefix, range }: DateValue): Fragment {
  switch (prefix) {
    // low <= high, so a range inside [range.low, range.high] starts inside it too: a bounded index scan.
    case 'eq': return db`low between ${range.low} and ${range.high} and high <= ${range.high}`;
    case 'ne': return db`(low < ${range.low} or high > ${range.high})`;
    case 'gt': return db`high > ${range.high}`;
    case 'lt': return db`low < ${range.low}`;
    case 'ge': return db`high >= ${range.low}`;
    case 'le': return db`low <= ${range.high}`;
  }
}

function instantCondition(db: Queryable, column: Fragment, { prefix, range }: DateValue): Fragment {
  switch (prefix) {
    case 'eq': return db`${column} between ${range.low} and ${range.high}`;
    case 'ne': return db`not (${column} between ${range.low} and ${range.high})`;
    case 'gt': return db`${column} > ${range.high}`;
    case 'lt': return db`${column} < ${range.low}`;
    case 'ge': return db`${column} >= ${range.low}`;
    case 'le': return db`${column} <= ${range.high}`;
  }
}

function anyOf(db: Queryable, conditions: Fragment[]): Fragment {
  return joinFragments(db, conditions.map((condition) => db`(${condition})`), 'or');
}

function joinFragments(db: Queryable, fragments: Fragment[], separator: 'and' | 'or' | ','): Fragment {
  const glue = separator === 'and' ? db` and ` : separator === 'or' ? db` or ` : db`, `;
  return fragments.reduce((joined, fragment) => db`${joined}${glue}${fragment}`);
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => '\\' + character);
}
