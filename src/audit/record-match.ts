// Whether one record of the trail matches an auditor's search: the exact test, applied to each
// record of the blocks whose keys matched, and the span of time a matching block must overlap
// (src/audit/store.ts). The FHIR date prefixes are read here alone.
import type { DateValue } from '../platform/fhir/search-query.ts';
import type { AuditRecord } from './chain.ts';

/** An auditor's search: each list, when not empty, is one condition whose values are alternatives. */
export type AuditQuery = {
  patients: string[];
  users: string[];
  organisations: string[];
  /** Every one must hold (a range is two of them). */
  dates: DateValue[];
  count: number;
  offset: number;
  /**
   * The newest record the search covers: the first page's links carry the chain head it read, and
   * a next link the record below the last one shown (search.ts, auditSearchsetJson), so that
   * records appended meanwhile (the first page's own audit record among them) do not shift the
   * pages. null: the chain head now.
   */
  through: number | null;
};

export function recordMatches(record: AuditRecord, query: AuditQuery): boolean {
  if (query.patients.length && !record.patientNhsNumbers.some((nhsNumber) => query.patients.includes(nhsNumber))) return false;
  if (query.users.length && (record.userId === null || !query.users.includes(record.userId))) return false;
  if (query.organisations.length && (record.organisationOds === null || !query.organisations.includes(record.organisationOds))) return false;
  const when = record.occurredAt.getTime();
  return query.dates.every((date) => dateMatches(when, date));
}

/** The FHIR date prefixes against the instant a record was made: https://hl7.org/fhir/R4/search.html#prefix */
function dateMatches(when: number, { prefix, range }: DateValue): boolean {
  const low = range.low.getTime();
  const high = range.high.getTime();
  switch (prefix) {
    case 'eq': return when >= low && when <= high;
    case 'ne': return when < low || when > high;
    case 'gt': return when > high;
    case 'lt': return when < low;
    case 'ge': return when >= low;
    case 'le': return when <= high;
  }
}

const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** Instants in milliseconds, both ends included; null for no bound. */
export type Span = { from: number | null; to: number | null };

/**
 * The instants a record must fall in to meet every date condition but `ne` (each a FHIR prefix:
 * https://hl7.org/fhir/R4/search.html#prefix), as one span a block's must overlap; undefined when
 * the conditions leave no instant at all.
 */
export function searchSpan(dates: DateValue[]): Span | undefined {
  let from = -Infinity;
  let to = Infinity;
  for (const { prefix, range } of dates) {
    const low = range.low.getTime();
    const high = range.high.getTime();
    if (prefix === 'eq' || prefix === 'ge') from = Math.max(from, low);
    if (prefix === 'gt') from = Math.max(from, high + 1);
    if (prefix === 'eq' || prefix === 'le') to = Math.min(to, high);
    if (prefix === 'lt') to = Math.min(to, low - 1);
  }
  // Past the instants PostgreSQL's timestamps and the trail hold (gt9999, lt0001) nothing matches.
  if (from > to || from > LATEST || to < EARLIEST) return undefined;
  return { from: from > EARLIEST ? from : null, to: to < LATEST ? to : null };
}
