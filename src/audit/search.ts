// The auditors' search of the trail: reads an AuditEvent search (patient, user, organisation,
// date) into a query, runs it, and answers it as a searchset Bundle, newest first; and the read.
import type { OperationOutcome } from '@medplum/fhirtypes';
import { currentContext } from '../platform/context.ts';
import type { Queryable } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import { dateRange, ENGLAND_TIME_ZONE } from '../platform/fhir/dates.ts';
import { searchsetJson } from '../platform/fhir/bundles.ts';
import { DATE_PREFIXES, pagingParameter, SEARCH_LIMITS, type DatePrefix, type DateValue, type QueryValues } from '../platform/fhir/search-query.ts';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM } from '../platform/identifiers/nhs-number.ts';
import { isValidOdsCode, ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';
import { hasControlCharacter } from '../platform/text.ts';
import { SDS_USER_ID_SYSTEM, toAuditEvent } from './audit-event.ts';
import type { AuditRecord } from './chain.ts';
import { AuditErrors } from './errors.ts';
import type { AuditQuery } from './record-match.ts';
import { readRecord, searchRecords, type BlockSpan, type SearchAnswer } from './store.ts';

const PARAMETERS = ['patient', 'user', 'organisation', 'date', '_count', '_offset', '_through'] as const;
type Parameter = (typeof PARAMETERS)[number];

export type AuditSearchResult = SearchAnswer & { search: AuditQuery };

export async function searchAuditTrail(db: Queryable, query: QueryValues): Promise<AuditSearchResult> {
  const search = parseAuditSearch(query);
  const answer = await searchRecords(db, search);
  if (answer.unreadable.length > 0) {
    currentContext()?.log.error({ unreadableBlocks: answer.unreadable }, 'an audit search answered without the records of blocks it cannot read: run `openspine audit verify`');
  }
  return { search, ...answer };
}

/** A record by its sequence number, the id of its AuditEvent. */
export async function readAuditRecord(db: Queryable, id: string): Promise<AuditRecord> {
  if (!/^[1-9][0-9]{0,14}$/.test(id)) throw Errors.invalidResourceId(id);
  const record = await readRecord(db, Number(id));
  if (!record) throw AuditErrors.recordNotFound(id);
  return record;
}

export function parseAuditSearch(query: QueryValues): AuditQuery {
  const search: AuditQuery = { patients: [], users: [], organisations: [], dates: [], count: SEARCH_LIMITS.defaultCount, offset: 0, through: null };
  for (const [name, raw] of Object.entries(query)) {
    if (!(PARAMETERS as readonly string[]).includes(name)) throw AuditErrors.unknownParameter(name, PARAMETERS);
    const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => value !== undefined);
    // Dates repeat to make a range; the others take alternatives in one value.
    if (name !== 'date' && values.length > 1) throw AuditErrors.repeated(name);
    for (const value of values) readParameter(search, name as Parameter, value);
  }
  const { patients, users, organisations, dates } = search;
  if (patients.length + users.length + organisations.length + dates.length === 0) throw AuditErrors.noCriterion();
  return search;
}

function readParameter(search: AuditQuery, name: Parameter, value: string): void {
  switch (name) {
    case 'patient':
      search.patients = alternatives(name, value).map((part) => {
        const nhsNumber = tokenCode(name, part, [NHS_NUMBER_SYSTEM]);
        if (!isValidNhsNumber(nhsNumber)) throw AuditErrors.invalidValue(name, part, 'give an NHS number, optionally as https://fhir.nhs.uk/Id/nhs-number|nnnnnnnnnn');
        return nhsNumber;
      });
      return;
    case 'user':
      // A patient's user id is their NHS number.
      search.users = alternatives(name, value).map((part) => {
        const userId = tokenCode(name, part, [SDS_USER_ID_SYSTEM, NHS_NUMBER_SYSTEM]);
        // PostgreSQL text holds no NUL, and no user id has control characters.
        if (hasControlCharacter(userId)) throw AuditErrors.invalidValue(name, part, 'a user id has no control characters');
        return userId;
      });
      return;
    case 'organisation':
      search.organisations = alternatives(name, value).map((part) => {
        const code = tokenCode(name, part, [ODS_CODE_SYSTEM]);
        if (!isValidOdsCode(code)) throw AuditErrors.invalidValue(name, part, 'give an ODS code, e.g. A83008');
        return code;
      });
      return;
    case 'date':
      search.dates.push(dateValue(value));
      return;
    case '_count':
    case '_offset':
      search[name === '_count' ? 'count' : 'offset'] = pagingParameter(name, value);
      return;
    case '_through':
      // Set by this server in its next and previous links (AuditQuery.through).
      if (!/^[0-9]{1,15}$/.test(value)) throw AuditErrors.invalidValue(name, value, 'the sequence of a record, as in the links of a page');
      search.through = Number(value);
      return;
  }
}

function alternatives(name: string, value: string): string[] {
  const parts = value.split(',');
  if (parts.some((part) => part === '')) throw AuditErrors.invalidValue(name, value, 'a value is empty');
  return parts;
}

/** The code of `code` or `system|code`, where the system, when given, must be one of those named. */
function tokenCode(name: string, part: string, systems: string[]): string {
  const bar = part.lastIndexOf('|');
  if (bar < 0) return part;
  const system = part.slice(0, bar);
  const code = part.slice(bar + 1);
  if (!systems.includes(system) || code === '') throw AuditErrors.invalidValue(name, part, `the system must be ${systems.join(' or ')}`);
  return code;
}

function dateValue(part: string): DateValue {
  const prefix = (DATE_PREFIXES as readonly string[]).includes(part.slice(0, 2)) ? (part.slice(0, 2) as DatePrefix) : undefined;
  const range = dateRange(prefix ? part.slice(2) : part, ENGLAND_TIME_ZONE);
  if (!range) throw AuditErrors.invalidValue('date', part, 'use [eq|ne|gt|lt|ge|le]yyyy-mm-dd, or a dateTime; repeat date for a range');
  return { prefix: prefix ?? 'eq', range };
}

/**
 * The searchset Bundle. Its links read the trail as this page did (`_through`). The next link goes
 * on below the last record shown, by its key rather than an offset: paging has no depth limit
 * (SEARCH_LIMITS.maxOffset) and each page reads only what it shows. A previous link is given only
 * to a page asked for by `_offset`, the one page before it being known there; a page reached by a
 * next link has none, as FHIR allows (https://hl7.org/fhir/R4/http.html#paging).
 */
export function auditSearchsetJson(options: AuditSearchResult & { baseUrl: string; query: string }): string {
  const { search, records } = options;
  const query = new URLSearchParams(options.query);
  query.set('_through', String(options.through));
  const last = records.at(-1);
  return searchsetJson({
    baseUrl: options.baseUrl,
    request: { resourceType: 'AuditEvent', clauses: [], count: search.count, offset: search.offset, sort: [], total: false },
    query: query.toString(),
    matches: records.map((record) => ({
      resourceType: 'AuditEvent',
      id: String(record.sequence),
      versionId: 1,
      lastUpdated: record.occurredAt,
      deleted: false,
      json: JSON.stringify(toAuditEvent(record)),
    })),
    hasMore: options.hasMore,
    ...(last ? { nextPage: { _through: String(last.sequence - 1) } } : {}),
    total: undefined,
    ...(options.unreadable.length > 0 ? { outcome: unreadableOutcome(options.unreadable) } : {}),
  });
}

/** The answer lacks the records of blocks that cannot be read: said, rather than left out unseen. */
function unreadableOutcome(blocks: BlockSpan[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: blocks.map(({ first, last }) => ({
      severity: 'warning',
      code: 'incomplete',
      diagnostics: `The audit block of records ${first} to ${last} cannot be read, so any of its records that match are missing from this answer: run \`openspine audit verify\``,
    })),
  };
}
