// Reads a FHIR search (the query string) into typed clauses against the declared parameters.
// Repeated parameters are ANDed, comma-separated values ORed: https://hl7.org/fhir/R4/search.html
// Unknown parameters are refused rather than ignored, so a typo never widens a search unnoticed.
import { Errors } from '../errors.ts';
import { dateRange, type InstantRange } from './dates.ts';
import { RESOURCE_ID_PATTERN, type ResourceDefinition, type SearchParamType } from './definitions.ts';
import { normalizeString } from './extract.ts';

export const DATE_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le'] as const;
export type DatePrefix = (typeof DATE_PREFIXES)[number];
export type DateValue = { prefix: DatePrefix; range: InstantRange };
/** `system` undefined: any system; null: no system (`|code`). `code` undefined: any code in the system (`system|`). */
export type TokenValue = { system: string | null | undefined; code: string | undefined };
export type StringMatch = 'prefix' | 'exact' | 'contains';

export type SearchClause =
  | { kind: 'token'; param: string; values: TokenValue[] }
  | { kind: 'string'; param: string; match: StringMatch; values: string[] }
  | { kind: 'date'; param: string; values: DateValue[] }
  | { kind: 'reference'; param: string; values: string[] }
  | { kind: 'id'; values: string[] }
  | { kind: 'lastUpdated'; values: DateValue[] };

/**
 * What a result page is ordered by: the id, the last update, or a declared search parameter's
 * values (`param`, with its index table's kind).
 */
export type SortKey =
  | { field: '_id' | '_lastUpdated'; descending: boolean }
  | { field: 'param'; param: string; kind: SearchParamType; descending: boolean };

export type SearchRequest = {
  resourceType: string;
  clauses: SearchClause[];
  count: number;
  offset: number;
  sort: SortKey[];
  total: boolean;
};

export const SEARCH_LIMITS = { defaultCount: 50, maxCount: 1000, maxOffset: 10_000 } as const;
const RESULT_PARAMETERS = ['_count', '_offset', '_sort', '_total', '_format'];

export type QueryValues = Record<string, string | string[] | undefined>;

export function parseSearch(definition: ResourceDefinition, query: QueryValues): SearchRequest {
  const request: SearchRequest = {
    resourceType: definition.resourceType,
    clauses: [],
    count: SEARCH_LIMITS.defaultCount,
    offset: 0,
    sort: [{ field: '_lastUpdated', descending: true }],
    total: false,
  };
  for (const [key, raw] of Object.entries(query)) {
    const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => value !== undefined);
    for (const value of values) readParameter(definition, request, key, value);
  }
  return request;
}

function readParameter(definition: ResourceDefinition, request: SearchRequest, key: string, value: string): void {
  if (RESULT_PARAMETERS.includes(key)) return readResultParameter(definition, request, key, value);
  const [name = '', modifier] = key.split(':', 2);
  if (value === '') throw Errors.invalidSearchData(`Search parameter '${key}' has no value`);
  const parts = splitValues(value);
  if (name === '_id') {
    refuseModifier(key, modifier);
    for (const id of parts) if (!RESOURCE_ID_PATTERN.test(id)) throw Errors.invalidSearchData(`Invalid value - '${id}' in field '_id'`);
    request.clauses.push({ kind: 'id', values: parts });
    return;
  }
  if (name === '_lastUpdated') {
    refuseModifier(key, modifier);
    request.clauses.push({ kind: 'lastUpdated', values: parts.map((part) => dateValue(key, part)) });
    return;
  }
  const param = definition.searchParams.find((candidate) => candidate.name === name);
  if (!param) {
    const known = ['_id', '_lastUpdated', ...definition.searchParams.map((candidate) => candidate.name), ...RESULT_PARAMETERS];
    throw Errors.invalidSearchData(`Unknown search parameter '${name}' for ${definition.resourceType}; supported: ${known.join(', ')}`);
  }
  switch (param.type) {
    case 'token':
      refuseModifier(key, modifier);
      request.clauses.push({ kind: 'token', param: name, values: parts.map(tokenValue) });
      return;
    case 'string': {
      const match = stringMatch(key, modifier);
      const values = match === 'exact' ? parts : parts.map(normalizeString);
      request.clauses.push({ kind: 'string', param: name, match, values });
      return;
    }
    case 'date':
      refuseModifier(key, modifier);
      request.clauses.push({ kind: 'date', param: name, values: parts.map((part) => dateValue(key, part)) });
      return;
    case 'reference':
      refuseModifier(key, modifier);
      for (const part of parts) {
        if (!part.includes('/')) throw Errors.invalidSearchData(`Invalid value - '${part}' in field '${key}': give the reference as Type/id`);
      }
      request.clauses.push({ kind: 'reference', param: name, values: parts });
      return;
  }
}

function readResultParameter(definition: ResourceDefinition, request: SearchRequest, key: string, value: string): void {
  switch (key) {
    case '_count':
      request.count = pagingParameter(key, value);
      return;
    case '_offset':
      request.offset = pagingParameter(key, value);
      return;
    case '_total':
      if (!['none', 'estimate', 'accurate'].includes(value)) throw Errors.invalidSearchData(`Invalid value - '${value}' in field '_total'`);
      request.total = value === 'accurate';
      return;
    case '_sort':
      request.sort = value.split(',').map((field) => sortKey(definition, field));
      return;
    case '_format':
      if (!['json', 'application/json', 'application/fhir+json'].includes(value)) {
        throw Errors.notAcceptable(`Only JSON is supported, not '${value}'`);
      }
      return;
  }
}

/** `_count` (1 to the largest page) or `_offset` (0 to the deepest page), as every search of ours reads them. */
export function pagingParameter(key: '_count' | '_offset', value: string): number {
  return key === '_count' ? boundedInteger(key, value, 1, SEARCH_LIMITS.maxCount) : boundedInteger(key, value, 0, SEARCH_LIMITS.maxOffset);
}

function boundedInteger(key: string, value: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw Errors.invalidSearchData(`Invalid value - '${value}' in field '${key}': must be a whole number from ${min} to ${max}`);
  }
  return parsed;
}

function refuseModifier(key: string, modifier: string | undefined): void {
  if (modifier !== undefined) throw Errors.invalidSearchData(`Unsupported modifier in '${key}'`);
}

function stringMatch(key: string, modifier: string | undefined): StringMatch {
  if (modifier === undefined) return 'prefix';
  if (modifier === 'exact' || modifier === 'contains') return modifier;
  throw Errors.invalidSearchData(`Unsupported modifier in '${key}': string parameters take :exact or :contains`);
}

function tokenValue(part: string): TokenValue {
  const bar = indexOfUnescaped(part, '|');
  if (bar < 0) return { system: undefined, code: unescape(part) };
  const system = unescape(part.slice(0, bar));
  const code = unescape(part.slice(bar + 1));
  return { system: system === '' ? null : system, code: code === '' ? undefined : code };
}

function dateValue(key: string, part: string): DateValue {
  const prefix = (DATE_PREFIXES as readonly string[]).includes(part.slice(0, 2)) ? (part.slice(0, 2) as DatePrefix) : undefined;
  const text = prefix ? part.slice(2) : part;
  const range = dateRange(text);
  if (!range) throw Errors.invalidSearchData(`Invalid value - '${part}' in field '${key}': use [eq|ne|gt|lt|ge|le]yyyy-mm-dd`);
  return { prefix: prefix ?? 'eq', range };
}

/** Splits on commas not escaped with a backslash: https://hl7.org/fhir/R4/search.html#escaping */
function splitValues(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let at = indexOfUnescaped(value, ','); at >= 0; at = indexOfUnescaped(value, ',', start)) {
    parts.push(value.slice(start, at));
    start = at + 1;
  }
  parts.push(value.slice(start));
  return parts.map((part) => part.replace(/\\,/g, ','));
}

function indexOfUnescaped(value: string, character: string, from = 0): number {
  for (let at = value.indexOf(character, from); at >= 0; at = value.indexOf(character, at + 1)) {
    if (value[at - 1] !== '\\') return at;
  }
  return -1;
}

function unescape(value: string): string {
  return value.replace(/\\([|,$\\])/g, '$1');
}

/** `_sort=a,-b`: by _id, _lastUpdated or any declared parameter, `-` for descending (https://hl7.org/fhir/R4/search.html#sort). */
function sortKey(definition: ResourceDefinition, field: string): SortKey {
  const descending = field.startsWith('-');
  const name = descending ? field.slice(1) : field;
  if (name === '_id' || name === '_lastUpdated') return { field: name, descending };
  const param = definition.searchParams.find((candidate) => candidate.name === name);
  if (!param) {
    const known = ['_id', '_lastUpdated', ...definition.searchParams.map((candidate) => candidate.name)];
    throw Errors.invalidSearchData(`Invalid value - '${field}' in field '_sort': sorting is by ${known.join(', ')}`);
  }
  return { field: 'param', param: name, kind: param.type, descending };
}
