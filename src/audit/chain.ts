// The hash chain of the audit trail: a record's fields in a canonical form, and the sha256 that
// links each record to the one before, so that an edited, removed or moved record shows.
import { hash } from 'node:crypto';
import type { AuditEntry, AuditOutcome } from '../platform/audit.ts';

/** The `prev_hash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a record says, exactly as PostgreSQL stores it and gives it back. */
export type AuditFields = {
  occurredAt: Date;
  requestId: string;
  correlationId: string | null;
  actorMode: string | null;
  userId: string | null;
  roleProfileId: string | null;
  organisationOds: string | null;
  applicationId: string | null;
  service: string;
  interaction: string;
  outcome: AuditOutcome;
  status: number;
  patientNhsNumbers: string[];
  resourceIds: string[];
  detail: string | null;
};

export type AuditRecord = AuditFields & { sequence: number; prevHash: string; hash: string };

/** The end of the chain: the last record's sequence and hash (0 and the genesis hash when empty). */
export type ChainHead = { sequence: number; hash: string };

/**
 * How much of what a client sent a record keeps. Its names and keys (an NHS number, a resource id,
 * a user id) are cut past MAX_NAME_LENGTH, far longer than any real one: a search key must stay
 * within what an index entry holds (2.7 kB), or the insert of the whole batch fails. A refusal's
 * detail, which quotes the client's input, is cut past MAX_DETAIL_LENGTH, and a record names at
 * most MAX_NAMES patients and resources (more than a page of any search), so that a record stays
 * small enough for a block (src/audit/trail.ts splits a batch too big for one).
 */
export const RECORD_LIMITS = { MAX_NAME_LENGTH: 256, MAX_DETAIL_LENGTH: 4096, MAX_NAMES: 1000 } as const;

/**
 * The fields of an entry as they will be stored. Text is made storable first (PostgreSQL text
 * holds no NUL, and a lone UTF-16 surrogate would come back as U+FFFD) and cut to RECORD_LIMITS,
 * so the hash computed now is the hash of what is read back; otherwise one odd header would fail
 * its whole batch.
 */
export function auditFields(entry: AuditEntry): AuditFields {
  // Refused here, for this entry alone, rather than failing the insert of the whole batch.
  if (Number.isNaN(entry.occurredAt.getTime())) throw new TypeError('An audit entry needs a valid occurredAt');
  if (!Number.isInteger(entry.status)) throw new TypeError(`An audit entry needs a whole-number status, not ${entry.status}`);
  const { actor } = entry;
  const patients = names(entry.patientNhsNumbers);
  const resources = names(entry.resourceIds);
  return {
    occurredAt: entry.occurredAt,
    requestId: storable(entry.requestId),
    correlationId: optional(entry.correlationId),
    actorMode: optional(actor?.mode),
    userId: optional(actor?.userId),
    roleProfileId: optional(actor?.roleProfileId),
    organisationOds: optional(actor?.organisationOds),
    applicationId: optional(actor?.applicationId),
    service: storable(entry.service),
    interaction: storable(entry.interaction),
    outcome: entry.outcome,
    status: entry.status,
    patientNhsNumbers: patients.kept,
    resourceIds: resources.kept,
    detail: optional(detailOf(entry.detail, patients.left, resources.left), Infinity),
  };
}

/** The detail cut to its limit, then told of any names left out, so that the cut never takes the telling away. */
function detailOf(given: string | undefined, patientsLeft: number, resourcesLeft: number): string | undefined {
  const detail = given === undefined ? undefined : cut(given, RECORD_LIMITS.MAX_DETAIL_LENGTH);
  if (patientsLeft === 0 && resourcesLeft === 0) return detail; // every request but the rarest: nothing more to build
  const unnamed = [patientsLeft ? `${patientsLeft} more patients` : '', resourcesLeft ? `${resourcesLeft} more resources` : ''].filter(Boolean);
  return `${detail ?? ''} (the record names the first ${RECORD_LIMITS.MAX_NAMES}: ${unnamed.join(' and ')} not named)`.trimStart();
}

function names(given: string[]): { kept: string[]; left: number } {
  const kept = given.length > RECORD_LIMITS.MAX_NAMES ? given.slice(0, RECORD_LIMITS.MAX_NAMES) : given;
  return { kept: kept.map((name) => storable(name)), left: given.length - kept.length };
}

function cut(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, maxLength)}… (cut from ${text.length} characters)` : text;
}

function storable(text: string, maxLength: number = RECORD_LIMITS.MAX_NAME_LENGTH): string {
  const kept = cut(text, maxLength);
  // Nearly every text is storable as it is: checked without copying, copied only to mend it (a
  // surrogate pair cut in two included).
  if (kept.isWellFormed() && !kept.includes('\0')) return kept;
  return kept.toWellFormed().replaceAll('\0', '\uFFFD');
}

function optional(text: string | undefined, maxLength?: number): string | null {
  return text === undefined ? null : storable(text, maxLength);
}

/**
 * The sha256 (hex) of a record's fields and the hash of the record before it. The sequence number
 * is left out on purpose: the link to the previous hash already fixes each record's place, and
 * leaving it out lets verification tell a record moved whole (its own hash still right) from one
 * whose content was changed. Renumbering still shows, as a gap or a broken link.
 */
export function hashRecord(fields: AuditFields, prevHash: string): string {
  return hashCanonical(canonicalForm(fields, prevHash));
}

/** The hash of a record whose canonical form is already made. */
export function hashCanonical(canonical: string): string {
  // The one-shot hash: half the time of createHash's object for a record's few hundred bytes.
  return hash('sha256', canonical, 'hex');
}

/** A JSON array in a fixed order: the same fields always give the same text. */
export function canonicalForm(fields: AuditFields, prevHash: string): string {
  return JSON.stringify([
    isoInstant(fields.occurredAt),
    fields.requestId,
    fields.correlationId,
    fields.actorMode,
    fields.userId,
    fields.roleProfileId,
    fields.organisationOds,
    fields.applicationId,
    fields.service,
    fields.interaction,
    fields.outcome,
    fields.status,
    fields.patientNhsNumbers,
    fields.resourceIds,
    fields.detail,
    prevHash,
  ]);
}

/** The last instant written and its text: the records of a busy millisecond share it, and writing it was half of canonicalForm's time. */
let lastInstant = { time: Number.NaN, text: '' };

function isoInstant(date: Date): string {
  const time = date.getTime();
  if (time !== lastInstant.time) lastInstant = { time, text: date.toISOString() };
  return lastInstant.text;
}
