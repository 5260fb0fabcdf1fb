// Verification of the audit trail: walks the chain in sequence order, a keyset page of blocks at a
// time, and names every record that was edited, removed or moved since it was written, rewritten
// since an anchor was published, or hidden from the searches by its block's keys; and a deleted
// chain head, checking all the rest without it.
import type { Queryable } from '../platform/db/connect.ts';
import { checkAnchors } from './anchors.ts';
import type { BlockCheck } from './block-check.ts';
import { blockCheckers } from './block-checkers.ts';
import { GENESIS_HASH, type ChainHead } from './chain.ts';
import type { AuditProblem, AuditVerification } from './problems.ts';
import { blockHolding, blocksOutsideChain, findChainHead, lastStoredSequence, readBlockRows } from './store.ts';

/** Blocks read at a time: a block holds at most one append's records (500 by default). */
const DEFAULT_PAGE_SIZE = 100;
/** How many records back (and ahead) a moved record is recognised as moved rather than as a broken link. */
const REORDER_WINDOW = 10_000;

/** Once before the first page of blocks and after each: the records checked so far, of the `upTo` the chain head (or, without one, the last block) held when the walk began. */
export type VerifyProgress = (checked: number, upTo: number) => void;

export type VerifyOptions = {
  pageSize?: number;
  anchors?: ChainHead[];
  /** An anchor a run before verified up to: only the records after it are walked, chained onto it (it is checked as an anchor too). */
  from?: ChainHead;
  onProgress?: VerifyProgress;
  /** How many records back and ahead a moved record is recognised as moved (default REORDER_WINDOW). */
  reorderWindow?: number;
  /**
   * Worker threads that unpack, parse and hash the blocks while this one links their records (0,
   * the default: this thread does all).
   */
  threads?: number;
};

/**
 * Checks every record up to the chain head as it is now (records appended meanwhile are left for
 * the next run), or those after `from`; without a head, every record the blocks hold. Memory stays
 * bounded, whatever the length of the trail: a page of blocks, and the hashes of the last
 * `reorderWindow` records.
 */
export async function verifyAuditTrail(db: Queryable, options: VerifyOptions = {}): Promise<AuditVerification> {
  const limit = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const window = options.reorderWindow ?? REORDER_WINDOW;
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`reorderWindow must be a positive whole number, not ${window}`);
  const from = options.from ?? { sequence: 0, hash: GENESIS_HASH };
  const anchors = [...(options.anchors ?? []), ...(options.from ? [options.from] : [])];
  const head = await findChainHead(db);
  // Without its head the chain is walked to its last block: all but where it should end can be checked.
  const end = head?.sequence ?? (await lastStoredSequence(db));
  const headProblems = head ? [] : [headMissing(end)];
  // An anchor past the end: the trail was cut short since, which checking it as an anchor says.
  if (from.sequence > end) return { checked: 0, problems: [...headProblems, ...(await checkAnchors(db, anchors, head))] };
  const walk = chainWalk(window, from);
  options.onProgress?.(0, end - from.sequence);
  const blockProblems: AuditProblem[] = [];
  const firstBlock = from.sequence === 0 ? 1 : await blockHolding(db, from.sequence + 1);
  const checker = blockCheckers(options.threads ?? 0);
  try {
    // Each page's blocks go to the checkers as soon as it is read, so that they check the next page
    // while this thread links the records of this one.
    const readPage = async (after: number): Promise<{ checks: Promise<BlockCheck>[]; lastStart: number | undefined }> => {
      const rows = await readBlockRows(db, { after, upTo: end, limit });
      const checks = rows.map((row) => checker.check(row));
      // Not to be left unhandled while earlier pages are walked: each is awaited, in order, below.
      for (const check of checks) check.catch(() => undefined);
      return { checks, lastStart: rows.length === limit ? Number(rows.at(-1)?.first_sequence) : undefined };
    };
    let page = await readPage(firstBlock - 1);
    while (page.checks.length > 0) {
      const next = page.lastStart === undefined ? undefined : readPage(page.lastStart);
      next?.catch(() => undefined); // awaited after this page: a failure is thrown there
      for (const pending of page.checks) {
        const check = await pending;
        if (check.problem) blockProblems.push(check.problem);
        for (let index = 0; index < check.sequences.length; index++) {
          walk.check(check.sequences[index] as number, check.prevHashes[index] as string, check.hashes[index] as string, check.intact[index] as boolean);
        }
      }
      options.onProgress?.(walk.checked(), end - from.sequence);
      if (!next) break;
      page = await next;
    }
  } finally {
    await checker.close();
  }
  const { checked, problems } = walk.finish(head);
  problems.push(...blockProblems, ...headProblems, ...(await outsideTheChain(db)), ...(await checkAnchors(db, anchors, head)));
  return { checked, problems: problems.sort((a, b) => a.sequence - b.sequence) };
}

/**
 * The checks, one record at a time in sequence order, of the records after `start` (the genesis, or
 * an anchor verified before), remembering only the last `window` hashes.
 */
function chainWalk(window: number, start: ChainHead): { check(sequence: number, prevHash: string, hash: string, intact: boolean): void; checked(): number; finish(head: ChainHead | undefined): AuditVerification } {
  const problems: AuditProblem[] = [];
  let checked = 0;
  let previous: ChainHead = start;
  /** Hash → sequence of recent records, to recognise a record chained after one nearby. */
  const recent = new Map<string, number>();
  /**
   * The same hashes in the order checked, a ring of `window`, to forget the oldest by: finding it
   * as the Map's first key made V8 step over every key deleted since the Map was last rebuilt,
   * thousands a record (half of verification's time).
   */
  const recentOrder = new Array<{ hash: string; sequence: number } | undefined>(window);
  let oldestAt = 0;
  /**
   * Links not yet explained: prev_hash → the sequences of the records that carry it, oldest first
   * (more than one when a record was copied over another: each is named).
   */
  const unexplained = new Map<string, number[]>();

  const brokenLink = (sequence: number): AuditProblem => ({
    sequence,
    problem: 'broken link',
    detail: 'the record it was chained after is not in the trail as written: it was changed and re-hashed, or replaced',
  });

  return {
    check(sequence, prevHash, hash, intact) {
      if (sequence <= start.sequence) return; // in the first block, before where this walk starts
      checked += 1;
      if (!intact) problems.push({ sequence, problem: 'edited', detail: 'its content does not match its hash' });
      if (sequence <= previous.sequence) {
        // A number already passed: a record inserted (a copy, or one put out of order). The chain
        // goes on from the record before it.
        problems.push(sequence === previous.sequence ? repeated(sequence) : outOfOrder(sequence, previous.sequence));
        return;
      }
      if (sequence !== previous.sequence + 1) {
        // The link across a gap breaks because of the gap: reported once, as missing records.
        problems.push(missing(previous.sequence + 1, sequence - 1));
      } else if (prevHash !== previous.hash) {
        const chainedAfter = recent.get(prevHash);
        if (chainedAfter === undefined) unexplained.set(prevHash, [...(unexplained.get(prevHash) ?? []), sequence]);
        else problems.push(reordered(sequence, chainedAfter));
      }
      // A record further on that earlier records were chained after: those earlier ones were moved.
      const waiting = unexplained.get(hash);
      if (waiting !== undefined) {
        unexplained.delete(hash);
        for (const carrier of waiting) problems.push(reordered(carrier, sequence));
      }
      const oldest = recentOrder[oldestAt];
      // Unless a later record with the same hash (a copy) took its place: a hash is remembered
      // until the last record that carries it leaves the window.
      if (oldest !== undefined && recent.get(oldest.hash) === oldest.sequence) recent.delete(oldest.hash);
      recentOrder[oldestAt] = { hash, sequence };
      oldestAt = (oldestAt + 1) % window;
      recent.set(hash, sequence);
      // Oldest first: the first carrier still within the window ends the search.
      for (const [unexplainedHash, carriers] of unexplained) {
        if (sequence - (carriers[0] ?? sequence) <= window) break;
        unexplained.delete(unexplainedHash);
        for (const carrier of carriers) problems.push(brokenLink(carrier));
      }
      previous = { sequence, hash };
    },

    checked: () => checked,

    finish(head) {
      for (const carriers of unexplained.values()) for (const sequence of carriers) problems.push(brokenLink(sequence));
      // Without a head (reported as missing) where the chain should end is not known.
      if (!head) return { checked, problems };
      if (previous.sequence < head.sequence) {
        const gap = missing(previous.sequence + 1, head.sequence);
        problems.push({ ...gap, detail: `${gap.detail}: the chain head says the trail ends at ${head.sequence}` });
      } else if (previous.hash !== head.hash) {
        problems.push({ sequence: previous.sequence, problem: 'edited', detail: 'its hash is not the one the chain head holds for it: it was changed and re-hashed' });
      }
      return { checked, problems };
    },
  };
}

function missing(first: number, last: number): AuditProblem {
  return { sequence: first, problem: 'missing', detail: first === last ? `record ${first} is missing` : `records ${first} to ${last} are missing` };
}

function repeated(sequence: number): AuditProblem {
  return { sequence, problem: 'repeated', detail: 'a second record numbered so follows the first: a record was inserted, a copy or a forgery' };
}

function outOfOrder(sequence: number, after: number): AuditProblem {
  return { sequence, problem: 'reordered', detail: `it is stored after record ${after}, out of the order of its number` };
}

function reordered(sequence: number, chainedAfter: number): AuditProblem {
  return { sequence, problem: 'reordered', detail: `it was chained after the record now at ${chainedAfter}, not after the one now before it` };
}

function headMissing(last: number): AuditProblem {
  return {
    sequence: last,
    problem: 'head missing',
    detail: `the chain head (audit_chain_head, id 1) is missing, so no record can be appended: the trail was checked to its last block, ending at ${last}; records cut from after it, or re-hashed up to it, show only against anchors (--anchor, --anchors-from)`,
  };
}

/**
 * A block outside the chain is none of the trail's: every append moves the head as it writes, and
 * the first record is 1. Searches and reads leave such blocks out.
 */
async function outsideTheChain(db: Queryable): Promise<AuditProblem[]> {
  return (await blocksOutsideChain(db)).map(({ first, last }): AuditProblem => {
    const before = first < 1;
    return {
      sequence: first,
      problem: before ? 'before the first' : 'past the head',
      detail: `the block of records ${first} to ${last} starts ${before ? 'before the first record, 1' : 'past the chain head'}: no append of the trail wrote it, so searches do not show it`,
    };
  });
}
