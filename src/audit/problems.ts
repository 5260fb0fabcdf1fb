// What verification of the audit trail reports: each record found changed, missing, moved, rewritten,
// hidden from the searches, or put past the chain's end, and a chain head deleted.
export type AuditProblemKind =
  /** The record's content does not match its hash. */
  | 'edited'
  /** Records are absent: a gap in the sequence, or the chain ends before its head. */
  | 'missing'
  /** The record is intact but not where it was written: it was chained after another record, or is stored out of the order of its number. */
  | 'reordered'
  /** A second record with the number of the one before it: a record was inserted (a copy or a forgery). */
  | 'repeated'
  /** The record was chained after a record that is no longer there as written (changed and re-hashed, or replaced). */
  | 'broken link'
  /** The record's hash is not the one published for it in an anchor: the chain was re-hashed (src/audit/anchors.ts). */
  | 'rewritten'
  /**
   * The block holding the record does not say what its records name (patients, users,
   * organisations, time span or sequences), so auditors' searches would miss or misplace them.
   */
  | 'misindexed'
  /**
   * The record is in a block past the chain head. Every append moves the head in the transaction
   * that writes its block, so no append of the trail wrote it: it was inserted directly.
   */
  | 'past the head'
  /**
   * The record is in a block numbered before the trail's first record (1), which no append writes
   * and migration 0031 now refuses: it was inserted directly, before that migration.
   */
  | 'before the first'
  /**
   * The chain head, which says where the trail ends and the hash of its last record, was deleted.
   * No record can be appended until it is restored, and records cut from the end of the trail or
   * re-hashed there show only against anchors. Named at the last record the blocks hold.
   */
  | 'head missing';

export type AuditProblem = { sequence: number; problem: AuditProblemKind; detail: string };
export type AuditVerification = { checked: number; problems: AuditProblem[] };
