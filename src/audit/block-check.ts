// What verification checks of each block by itself: that its records can be read and each matches
// its hash, and that the block's keys are its records'. It needs nothing but the block, so it can
// run in other threads (block-checkers.ts) while the chain walk (verify.ts) links the records.
import { blockKeys, type BlockKeys } from './blocks.ts';
import { hashRecord } from './chain.ts';
import type { AuditProblem } from './problems.ts';
import { toStoredBlock, type BlockRow, type StoredBlock } from './store.ts';

/**
 * A block's problem, if any, and its records as the chain walk needs them, in order: arrays side by
 * side, which cross between threads for a fraction of what records as objects cost.
 */
export type BlockCheck = {
  problem: AuditProblem | undefined;
  sequences: number[];
  prevHashes: string[];
  hashes: string[];
  /** Whether each record's content matches its hash. */
  intact: boolean[];
};

export function checkBlock(row: BlockRow): BlockCheck {
  const block = toStoredBlock(row);
  const check: BlockCheck = { problem: blockProblem(block, row.sub_millisecond === true), sequences: [], prevHashes: [], hashes: [], intact: [] };
  for (const record of block.records ?? []) {
    check.sequences.push(record.sequence);
    check.prevHashes.push(record.prevHash);
    check.hashes.push(record.hash);
    check.intact.push(hashRecord(record, record.prevHash) === record.hash);
  }
  return check;
}

/**
 * What is wrong with a block as a whole: records that cannot be read, or keys that are not its
 * records' (`subMillisecond`: its time span was moved by less than the millisecond its Dates show).
 */
function blockProblem(block: StoredBlock, subMillisecond: boolean): AuditProblem | undefined {
  const span = `the block of records ${block.firstSequence} to ${block.lastSequence}`;
  const { records } = block;
  if (!records) return { sequence: block.firstSequence, problem: 'edited', detail: `${span} does not hold records as the trail writes them` };
  const stated = { ...keyText(block), first: block.firstSequence, last: block.lastSequence };
  const actual = { ...keyText(blockKeys(records)), first: records[0]?.sequence, last: records.at(-1)?.sequence };
  const differing: string[] = (Object.keys(stated) as (keyof typeof stated)[]).filter((key) => stated[key] !== actual[key]);
  if (subMillisecond) differing.push('a time below the millisecond');
  if (differing.length === 0) return undefined;
  return { sequence: block.firstSequence, problem: 'misindexed', detail: `${span} does not name what its records do (${differing.join(', ')}): searches would miss or misplace them` };
}

/** A block's keys as comparable text: the sets sorted, as JSON (so that 'a,b' is not 'a' and 'b'), the instants in milliseconds. */
function keyText(keys: BlockKeys) {
  const set = (values: string[]) => JSON.stringify([...values].sort());
  return {
    patients: set(keys.patients),
    users: set(keys.users),
    organisations: set(keys.organisations),
    occurredFrom: String(keys.occurredFrom.getTime()),
    occurredTo: String(keys.occurredTo.getTime()),
  };
}
