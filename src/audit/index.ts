// The audit service as other modules see it. (Placeholder being replaced by the hash-chained trail.)
import type { Logger } from 'pino';
import type { AuditEntry, AuditSink } from '../platform/audit.ts';
import type { Database } from '../platform/db/connect.ts';

export type AuditTrail = AuditSink & { close(): Promise<void> };

export function createAuditTrail(_db: Database, log: Logger): AuditTrail {
  return {
    record: async (entry: AuditEntry) => void log.debug({ audit: entry }, 'audit'),
    close: async () => undefined,
  };
}
