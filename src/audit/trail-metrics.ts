// What an operator watches of the audit trail on /metrics: how fast batches commit (every audited
// response waits for one), how big they are, how many records wait, how often another process held
// the chain head, and failures (a 503 to a client that waits for its record, a lost record of one
// already answered).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type TrailObserver = {
  appended(records: number, seconds: number, how: 'after-own-head' | 'with-lock'): void;
  failed(records: number): void;
};

export function trailMetrics(registry: Registry, pendingRecords: () => number): TrailObserver {
  const commit = new Histogram({
    name: 'openspine_audit_append_seconds',
    help: 'Time to append and commit one batch of audit records, by how the chain head was taken (with-lock: another process had moved it)',
    labelNames: ['how'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const batch = new Histogram({
    name: 'openspine_audit_batch_records',
    help: 'Audit records per committed batch (group commit)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });
  const records = new Counter({
    name: 'openspine_audit_records_total',
    help: 'Audit records, by outcome (failed: not written; a request waiting for it got 503, one already answered has no record)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'openspine_audit_pending_records',
    help: 'Audit records waiting for a batch to be sent',
    registers: [registry],
    collect() {
      this.set(pendingRecords());
    },
  });
  return {
    appended(count, seconds, how) {
      commit.observe({ how }, seconds);
      batch.observe(count);
      records.inc({ outcome: 'appended' }, count);
    },
    failed(count) {
      records.inc({ outcome: 'failed' }, count);
    },
  };
}
