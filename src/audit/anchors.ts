// Anchors: the chain head published outside the database, in the server's log (and wherever an
// operator copies it). Whoever can rewrite the database can re-hash the whole chain so that it
// verifies; a rewritten chain no longer passes through the hashes published before, so checking
// against them shows the rewrite, and also records cut from the end of the trail.
import type { Logger } from 'pino';
import type { Queryable } from '../platform/db/connect.ts';
import type { ChainHead } from './chain.ts';
import { readChainHead, readStoredRecord } from './store.ts';
import type { AuditProblem } from './problems.ts';

/** How often the server publishes the head, when it has moved. */
export const ANCHOR_INTERVAL_MS = 60_000;
/** The log message that carries an anchor, found again by `openspine audit verify --anchors-from`. */
export const ANCHOR_MESSAGE = 'audit anchor';

/** `sequence:hash`, as logged and as given to `openspine audit verify --anchor`. */
export function formatAnchor(head: ChainHead): string {
  return `${head.sequence}:${head.hash}`;
}

export function parseAnchor(text: string): ChainHead {
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  if (!match?.[1] || !match[2]) throw new Error(`'${text}' is not an audit anchor: expected <sequence>:<sha256 hex>, as the server logs it`);
  return { sequence: Number(match[1]), hash: match[2] };
}

/** The anchors in a log of the server (JSON lines); other lines are skipped. */
export function anchorsInLog(text: string): ChainHead[] {
  const anchors: ChainHead[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(ANCHOR_MESSAGE)) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // a line cut short by a crash
    }
    if (typeof entry === 'object' && entry !== null && 'msg' in entry && entry.msg === ANCHOR_MESSAGE && 'anchor' in entry && typeof entry.anchor === 'string') {
      anchors.push(parseAnchor(entry.anchor));
    }
  }
  return anchors;
}

/** Logs the chain head every interval in which it moved; stop() ends it. */
export function publishAnchors(db: Queryable, log: Logger, intervalMs = ANCHOR_INTERVAL_MS): { stop(): void } {
  let published: ChainHead | undefined;
  const publish = async () => {
    try {
      const head = await readChainHead(db);
      if (head.sequence === published?.sequence) return;
      log.info({ anchor: formatAnchor(head) }, ANCHOR_MESSAGE);
      published = head;
    } catch (error) {
      log.warn({ err: error }, 'the audit anchor could not be read; the next interval tries again');
    }
  };
  const timer = setInterval(() => void publish(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Every anchor the trail no longer passes through: the record at its sequence is absent (or past
 * the chain's `head`) or has another hash. Without a head (deleted, as verification reports), the
 * anchors are checked against the blocks as they are.
 */
export async function checkAnchors(db: Queryable, anchors: ChainHead[], head: ChainHead | undefined): Promise<AuditProblem[]> {
  const problems: AuditProblem[] = [];
  for (const anchor of anchors) {
    const record = head && anchor.sequence > head.sequence ? undefined : await readStoredRecord(db, anchor.sequence);
    if (!record) {
      problems.push({ sequence: anchor.sequence, problem: 'missing', detail: `the trail was published as reaching ${anchor.sequence} (anchor ${formatAnchor(anchor)}), but it ends before` });
    } else if (record.hash !== anchor.hash) {
      problems.push({ sequence: anchor.sequence, problem: 'rewritten', detail: `its hash is not the one published for it (anchor ${formatAnchor(anchor)}): the chain was re-hashed up to here or beyond` });
    }
  }
  return problems;
}
