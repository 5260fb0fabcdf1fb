// MESH's Prometheus metrics: messages accepted, delivered (downloaded), acknowledged and expired, by
// workflow, and how deep the inboxes are. Label values stay bounded: workflows are the registered
// ones (a send to any other is refused) and past MAX_WORKFLOW_LABELS the rest count as 'other';
// inbox depth is given for the INBOX_DEPTH_TOP deepest inboxes only, plus the total of all of them.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../platform/db/connect.ts';

/** What the MESH operations count; the domain code knows this, not prom-client. */
export type MeshCounters = {
  accepted(workflowId: string): void;
  delivered(workflowId: string): void;
  acknowledged(workflowId: string): void;
  expired(workflowId: string, count: number): void;
};

export const MAX_WORKFLOW_LABELS = 1000;
export const INBOX_DEPTH_TOP = 100;
/** A scrape within this long of the last reuses its inbox depths: many scrapers cost one query. */
const INBOX_DEPTH_CACHE_MS = 10_000;

type InboxDepths = { top: { mailboxId: string; depth: number }[]; total: number };

/** MESH's metrics, on the platform's registry (its `/metrics`). */
export function createMeshMetrics(db: Database, registry: Registry): MeshCounters {
  const counter = (what: string, help: string) =>
    new Counter({ name: `openspine_mesh_messages_${what}_total`, help, labelNames: ['workflow'] as const, registers: [registry] });
  const accepted = counter('accepted', 'MESH messages accepted into an inbox (every chunk received), by workflow');
  const delivered = counter('delivered', 'MESH messages downloaded to the end (their last chunk, or a REPORT), by workflow');
  const acknowledged = counter('acknowledged', 'MESH messages acknowledged by their recipient, by workflow');
  const expired = counter('expired', 'MESH messages taken out of an inbox unacknowledged after five days, by workflow');

  const labels = new Set<string>();
  const workflow = (workflowId: string) => {
    if (labels.has(workflowId)) return { workflow: workflowId };
    if (labels.size >= MAX_WORKFLOW_LABELS) return { workflow: 'other' };
    labels.add(workflowId);
    return { workflow: workflowId };
  };

  let depths: { at: number; value: Promise<InboxDepths> } | undefined;
  const inboxDepths = (): Promise<InboxDepths> => {
    const now = Date.now();
    if (depths === undefined || now - depths.at > INBOX_DEPTH_CACHE_MS) {
      depths = { at: now, value: readInboxDepths(db) };
      depths.value.catch(() => (depths = undefined)); // a failed read is not kept
    }
    return depths.value;
  };
  new Gauge({
    name: 'openspine_mesh_inbox_depth',
    help: `Messages waiting in a MESH inbox, for the ${INBOX_DEPTH_TOP} deepest inboxes`,
    labelNames: ['mailbox'] as const,
    registers: [registry],
    async collect() {
      const { top } = await inboxDepths();
      this.reset();
      for (const { mailboxId, depth } of top) this.set({ mailbox: mailboxId }, depth);
    },
  });
  new Gauge({
    name: 'openspine_mesh_inbox_messages',
    help: 'Messages waiting in all MESH inboxes together',
    registers: [registry],
    async collect() {
      this.set((await inboxDepths()).total);
    },
  });

  return {
    accepted: (workflowId) => accepted.inc(workflow(workflowId)),
    delivered: (workflowId) => delivered.inc(workflow(workflowId)),
    acknowledged: (workflowId) => acknowledged.inc(workflow(workflowId)),
    expired: (workflowId, count) => expired.inc(workflow(workflowId), count),
  };
}

/**
 * One query over the inbox index (mesh_message_inbox, accepted messages only): the deepest inboxes,
 * and the total of all of them counted before the limit.
 */
async function readInboxDepths(db: Database): Promise<InboxDepths> {
  const rows = await db<{ recipient_id: string; depth: number; total: bigint | number }[]>`
    select recipient_id, count(*)::int as depth, sum(count(*)) over ()::bigint as total
    from mesh_message where status = 'accepted'
    group by recipient_id
    order by depth desc, recipient_id
    limit ${INBOX_DEPTH_TOP}`;
  return { top: rows.map((row) => ({ mailboxId: row.recipient_id, depth: row.depth })), total: Number(rows[0]?.total ?? 0) };
}
