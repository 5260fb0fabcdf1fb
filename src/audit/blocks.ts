// Blocks of the audit trail: each append's records chained onto the head and stored as one row
// (migrations/0024_audit_blocks.sql), with the keys the auditors' searches find it by. A record is
// written as [sequence, its canonical form's fields (chain.ts), hash]: the text hashed is the text
// stored, made once.
import type { AuditOutcome } from '../platform/audit.ts';
import { canonicalForm, hashCanonical, type AuditFields, type AuditRecord, type ChainHead } from './chain.ts';

/** What an append writes: the block's span, search keys and records (JSON). */
export type AuditBlock = BlockKeys & { firstSequence: number; lastSequence: number; records: string };

/** What the auditors' searches find a block by: what its records name, and when they happened. */
export type BlockKeys = { occurredFrom: Date; occurredTo: Date; patients: string[]; users: string[]; organisations: string[] };

/** Chains a batch onto the head: its records in order, the block that stores them, and the new head. */
export function chainBlock(head: ChainHead, batch: AuditFields[]): { records: AuditRecord[]; block: AuditBlock; head: ChainHead } {
  let { sequence, hash } = head;
  const elements: string[] = [];
  const records = batch.map((fields) => {
    const prevHash = hash;
    const canonical = canonicalForm(fields, prevHash);
    sequence += 1;
    hash = hashCanonical(canonical);
    elements.push(`[${sequence},${canonical.slice(1, -1)},"${hash}"]`);
    return { ...fields, sequence, prevHash, hash };
  });
  const first = records[0];
  if (!first) throw new RangeError('A block needs at least one record');
  const block = { firstSequence: first.sequence, lastSequence: sequence, records: `[${elements.join(',')}]`, ...blockKeys(records) };
  return { records, block, head: { sequence, hash } };
}

/** The keys a block's records give it: verification compares them with those stored. */
export function blockKeys(records: AuditFields[]): BlockKeys {
  const patients = new Set<string>();
  const users = new Set<string>();
  const organisations = new Set<string>();
  let from = Infinity;
  let to = -Infinity;
  for (const record of records) {
    for (const nhsNumber of record.patientNhsNumbers) patients.add(nhsNumber);
    if (record.userId !== null) users.add(record.userId);
    if (record.organisationOds !== null) organisations.add(record.organisationOds);
    from = Math.min(from, record.occurredAt.getTime());
    to = Math.max(to, record.occurredAt.getTime());
  }
  return { occurredFrom: new Date(from), occurredTo: new Date(to), patients: [...patients], users: [...users], organisations: [...organisations] };
}

/**
 * The records of a block's JSON, in the order stored; undefined when it is not a list of records as
 * the trail writes them (someone wrote over it).
 */
export function blockRecords(json: string): AuditRecord[] | undefined {
  let elements: unknown;
  try {
    elements = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(elements)) return undefined;
  const records: AuditRecord[] = [];
  for (const element of elements) {
    const record = recordOf(element);
    if (!record) return undefined;
    records.push(record);
  }
  return records;
}

function recordOf(element: unknown): AuditRecord | undefined {
  if (!Array.isArray(element) || element.length !== 18) return undefined;
  const [sequence, occurredAt, requestId, correlationId, actorMode, userId, roleProfileId, organisationOds, applicationId, service, interaction, outcome, status, patientNhsNumbers, resourceIds, detail, prevHash, hash] = element as unknown[];
  const texts = [requestId, service, interaction, outcome, prevHash, hash];
  const optionalTexts = [correlationId, actorMode, userId, roleProfileId, organisationOds, applicationId, detail];
  if (typeof sequence !== 'number' || typeof occurredAt !== 'string' || typeof status !== 'number') return undefined;
  if (!texts.every((text) => typeof text === 'string') || !optionalTexts.every((text) => text === null || typeof text === 'string')) return undefined;
  if (!isTextList(patientNhsNumbers) || !isTextList(resourceIds)) return undefined;
  const when = new Date(occurredAt);
  if (Number.isNaN(when.getTime())) return undefined;
  return {
    sequence,
    occurredAt: when,
    requestId: requestId as string,
    correlationId: correlationId as string | null,
    actorMode: actorMode as string | null,
    userId: userId as string | null,
    roleProfileId: roleProfileId as string | null,
    organisationOds: organisationOds as string | null,
    applicationId: applicationId as string | null,
    service: service as string,
    interaction: interaction as string,
    outcome: outcome as AuditOutcome,
    status,
    patientNhsNumbers,
    resourceIds,
    detail: detail as string | null,
    prevHash: prevHash as string,
    hash: hash as string,
  };
}

function isTextList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
