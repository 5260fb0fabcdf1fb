// What the platform tells the audit trail about each request, and the sink it tells it to. The
// trail itself (hash chain, storage, search) is the audit service's; the platform only reports.
import type { Registry } from 'prom-client';
import type { Actor } from './context.ts';

export type AuditOutcome = 'success' | 'denied' | 'failure';

export type AuditEntry = {
  occurredAt: Date;
  requestId: string;
  correlationId: string | undefined;
  /** Undefined when the caller could not be authenticated. */
  actor: Actor | undefined;
  /** The service's base path segment, e.g. `spine-directory`, `personal-demographics`. */
  service: string;
  /** What was done: a FHIR interaction (`read`, `search-type`, `create`...) or `METHOD /route`. */
  interaction: string;
  outcome: AuditOutcome;
  status: number;
  /** The patients whose data the request touched (NHS numbers). */
  patientNhsNumbers: string[];
  /** The resources the request read or changed, as `Type/id`. */
  resourceIds: string[];
  /** Why it was refused or failed: the NHS error code and diagnostics. */
  detail: string | undefined;
};

/**
 * `record` records an entry and resolves only when the entry is durable, so a response can wait for
 * it; `awaited: false` says that nothing waits (a response without patient data, already on its
 * way): the sink may gather it with others a while before writing, resolves at once, and logs
 * itself what it could not write. `backlogged`, when there is one, says that the sink has more
 * records waiting to be written than it lets go unawaited: every response then waits for its
 * record, so that a slow database slows the answers rather than letting unwritten records pile up.
 * `registerMetrics`, when there is one, puts the sink's own figures on the platform's /metrics.
 */
export type AuditSink = {
  record(entry: AuditEntry, options?: { awaited?: boolean }): Promise<void>;
  backlogged?(): boolean;
  registerMetrics?(registry: Registry): void;
};

/** The sink of a sandbox run with audit switched off (to measure what audit costs): records nothing. */
export const NO_AUDIT: AuditSink & { close(): Promise<void> } = { record: async () => undefined, close: async () => undefined };
