// The audit trail as the tests read it back: every record, in chain order (the blocks store their
// records compressed, so SQL alone cannot read them: src/audit/packing.ts).
import { readRecords } from '../../src/audit/store.ts';
import type { AuditRecord } from '../../src/audit/chain.ts';
import type { Queryable } from '../../src/platform/db/connect.ts';

/** More records than any test writes. */
const ALL = 1_000_000;

export function auditRecords(db: Queryable, after = 0): Promise<AuditRecord[]> {
  return readRecords(db, { after, limit: ALL });
}
