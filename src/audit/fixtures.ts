// Audit entries for the tests of this folder: a plausible entry, with what a test cares about set.
import { randomUUID } from 'node:crypto';
import type { AuditEntry } from '../platform/audit.ts';

export function auditEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    occurredAt: new Date(),
    requestId: randomUUID(),
    correlationId: undefined,
    actor: { mode: 'healthcare-worker', userId: '555555555555', roleProfileId: '666666666666', organisationOds: 'A83008', activityCodes: ['B0264'] },
    service: 'personal-demographics',
    interaction: 'read',
    outcome: 'success',
    status: 200,
    patientNhsNumbers: ['9000000009'],
    resourceIds: ['Patient/9000000009'],
    detail: undefined,
    ...overrides,
  };
}
