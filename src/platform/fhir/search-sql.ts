// Compiles a parsed search into one parameterised SQL text. Built as plain text with numbered
// parameters (not nested query fragments) so that each search shape is one prepared statement
// and building it costs next to nothing on the hot path.
import type { DateValue, SearchClause, SearchRequest, SortKey } from './search-query.ts';

export type CompiledQuery = { text: string; parameters: (string | number | Date | string[])[] };

const INDEX_TABLE = { token: 'fhir_token', string: 'fhir_string', date: 'fhir_date', reference: 'fhir_reference' } as const;

/**
 * `page` answers any search. `walked`, when there is one, answers the commonest search that `page`
 * would answer by reading the whole type: no filter, sorted by one parameter (see walkedPage).
 */
export function compileSearch(request: SearchRequest): { page: CompiledQuery; total: CompiledQuery; walked?: CompiledQuery } {
  const parameters: CompiledQuery['parameters'] = [];
  const bind = (value: CompiledQuery['parameters'][number]) => `$${parameters.push(value)}`;
  const type = bind(request.resourceType);
  const conditions = [`r.resource_type = ${type}`, 'not r.deleted', ...request.clauses.map((clause) => clauseSql(clause, type, bind))];
  const where = conditions.join(' and ');
  const order = [...request.sort.map((key) => sortSql(key, type, bind)), 'r.id'].join(', ');
  const countParameters = [...parameters];
  const page = `select r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content::text as json
    from fhir_resource r where ${where} order by ${order} limit ${bind(request.count + 1)} offset ${bind(request.offset)}`;
  const [firstKey, ...laterKeys] = request.sort;
  return {
    page: { text: page, parameters },
    total: { text: `select count(*)::int as total from fhir_resource r where ${where}`, parameters: countParameters },
    ...(request.clauses.length === 0 && firstKey?.field === 'param' ? { walked: walkedPage(request, firstKey, laterKeys) } : {}),
  };
}

/** How many index rows a walked page reads per resource it may need: room for parameters with several values. */
const WALK_ROWS_PER_RESOURCE = 4;

/**
 * A search with no filter, sorted first by a parameter: its page from a walk of that parameter's
 * index in sort order, not from every resource of the type. The first rows of the walk hold, for
 * every resource that sorts before the last of them, the value it sorts by (its lowest ascending,
 * its highest descending, met first), so grouped by resource they are the beginning of the sorted
 * list. With one sort key (ties broken by id, as the walk breaks them) that beginning is exact.
 * With more, resources that tie on the walk's last value may lie partly beyond it, so those are
 * left out of a walk that stopped at its limit, and the later keys order the rest. When what is
 * left is too few for the page (values spread over more rows, ties, or a page past every resource
 * with a value, among those without), the search answers from `page`.
 */
function walkedPage(request: SearchRequest, key: Extract<SortKey, { field: 'param' }>, laterKeys: SortKey[]): CompiledQuery {
  const parameters: CompiledQuery['parameters'] = [];
  const bind = (value: CompiledQuery['parameters'][number]) => `$${parameters.push(value)}`;
  const type = bind(request.resourceType);
  const direction = key.descending ? 'desc' : 'asc';
  const column = SORT_COLUMN[key.kind][key.descending ? 'descending' : 'ascending'];
  const limit = bind((request.offset + request.count + 1) * WALK_ROWS_PER_RESOURCE);
  const walk = `select v.id, v.${column} as value from ${INDEX_TABLE[key.kind]} v where v.resource_type = ${type} and v.param = ${bind(key.param)}
    order by v.${column} ${direction}, v.id limit ${limit}`;
  const grouped = `select w.id, ${key.descending ? 'max' : 'min'}(w.value) as value from walked w group by w.id`;
  // The walk's last value, when it stopped at its limit: resources with that value may go on beyond it.
  const cut = `(select ${key.descending ? 'min' : 'max'}(value) from walked having count(*) = ${limit})`;
  const kept = laterKeys.length === 0 ? grouped : `${grouped} having ${cut} is null or ${key.descending ? 'max' : 'min'}(w.value) ${key.descending ? '>' : '<'} ${cut}`;
  const order = ['s.value ' + direction, ...laterKeys.map((later) => sortSql(later, type, bind)), 'r.id'].join(', ');
  // Lateral, and kept apart by its limit: each resource walked to is looked up by its key, however
  // small the planner thinks the type is.
  const text = `with walked as (${walk})
    select r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.json
    from (${kept}) s
    cross join lateral (select resource_type, id, version_id, last_updated, deleted, content::text as json from fhir_resource
      where resource_type = ${type} and id = s.id and not deleted limit 1) r
    order by ${order} limit ${bind(request.count + 1)} offset ${bind(request.offset)}`;
  return { text, parameters };
}

type Bind = (value: CompiledQuery['parameters'][number]) => string;

/**
 * A sort key as SQL. A parameter with several values sorts by its lowest ascending and its highest
 * descending, as FHIR R4 asks (https://hl7.org/fhir/R4/search.html#sort); resources without a
 * value come last. Each value is one lookup of the index table's owner index per resource found.
 */
function sortSql(key: SortKey, type: string, bind: Bind): string {
  const direction = key.descending ? 'desc' : 'asc';
  if (key.field !== 'param') return `${key.field === '_id' ? 'r.id' : 'r.last_updated'} ${direction}`;
  const column = SORT_COLUMN[key.kind][key.descending ? 'descending' : 'ascending'];
  const pick = key.descending ? 'max' : 'min';
  return `(select ${pick}(${column}) from ${INDEX_TABLE[key.kind]} v where v.resource_type = ${type} and v.id = r.id and v.param = ${bind(key.param)}) ${direction} nulls last`;
}

/** The column a value sorts by: a date range by its start ascending and its end descending. */
const SORT_COLUMN = {
  token: { ascending: 'code', descending: 'code' },
  string: { ascending: 'normalized', descending: 'normalized' },
  date: { ascending: 'low', descending: 'high' },
  reference: { ascending: 'target', descending: 'target' },
} as const;

function clauseSql(clause: SearchClause, type: string, bind: Bind): string {
  switch (clause.kind) {
    case 'id':
      return `r.id = any(${bind(clause.values)}::text[])`;
    case 'lastUpdated':
      return anyOf(clause.values.map((value) => instantCondition('r.last_updated', value, bind)));
    case 'token':
      return indexed(clause.kind, type, clause.param, bind, clause.values.map(({ system, code }) => {
        const codeMatch = code === undefined ? 'true' : `code = ${bind(code)}`;
        if (system === undefined) return codeMatch;
        return system === null ? `${codeMatch} and system is null` : `${codeMatch} and system = ${bind(system)}`;
      }));
    case 'string':
      return indexed(clause.kind, type, clause.param, bind, clause.values.map((value) => {
        if (clause.match === 'exact') return `exact = ${bind(value)}`;
        if (clause.match === 'contains') return `normalized like ${bind(`%${escapeLike(value)}%`)}`;
        // A prefix is a range of the "C"-collated index: [value, value + the highest code point).
        return `normalized >= ${bind(value)} and normalized < ${bind(value + '\u{10FFFF}')}`;
      }));
    case 'date':
      return indexed(clause.kind, type, clause.param, bind, clause.values.map((value) => rangeCondition(value, bind)));
    case 'reference':
      return indexed(clause.kind, type, clause.param, bind, [`target = any(${bind(clause.values)}::text[])`]);
  }
}

/** A clause answered by an index table: the ids whose rows of this parameter match any value. */
function indexed(kind: keyof typeof INDEX_TABLE, type: string, param: string, bind: Bind, matches: string[]): string {
  return `r.id in (select id from ${INDEX_TABLE[kind]} where resource_type = ${type} and param = ${bind(param)} and ${anyOf(matches)})`;
}

/** The FHIR date prefixes over an indexed range [low, high]: https://hl7.org/fhir/R4/search.html#prefix */
function rangeCondition({ prefix, range }: DateValue, bind: Bind): string {
  switch (prefix) {
    // low <= high, so a range inside [range.low, range.high] starts inside it too: a bounded index scan.
    case 'eq': return `low between ${bind(range.low)} and ${bind(range.high)} and high <= ${bind(range.high)}`;
    case 'ne': return `(low < ${bind(range.low)} or high > ${bind(range.high)})`;
    case 'gt': return `high > ${bind(range.high)}`;
    case 'lt': return `low < ${bind(range.low)}`;
    case 'ge': return `high >= ${bind(range.low)}`;
    case 'le': return `low <= ${bind(range.high)}`;
  }
}

function instantCondition(column: string, { prefix, range }: DateValue, bind: Bind): string {
  switch (prefix) {
    case 'eq': return `${column} between ${bind(range.low)} and ${bind(range.high)}`;
    case 'ne': return `not (${column} between ${bind(range.low)} and ${bind(range.high)})`;
    case 'gt': return `${column} > ${bind(range.high)}`;
    case 'lt': return `${column} < ${bind(range.low)}`;
    case 'ge': return `${column} >= ${bind(range.low)}`;
    case 'le': return `${column} <= ${bind(range.high)}`;
  }
}

function anyOf(conditions: string[]): string {
  return conditions.length === 1 ? `(${conditions[0] ?? 'false'})` : `(${conditions.map((condition) => `(${condition})`).join(' or ')})`;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => '\\' + character);
}
