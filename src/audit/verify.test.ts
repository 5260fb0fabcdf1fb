// Tamper evidence: the database refuses changes to the trail, and when someone able to switch its
// triggers off edits, removes, re-hashes or moves records, or a block's search keys, verification
// names each one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createTestDatabase } from '../../test/support/database.ts';
import type { Database, Queryable } from '../platform/db/connect.ts';
import { SpineError } from '../platform/errors.ts';
import { hashRecord } from './chain.ts';
import { auditEntry } from './fixtures.ts';
import { packRecords, unpackRecords } from './packing.ts';
import { readRecord, readRecords, searchRecords } from './store.ts';
import { createAuditTrail } from './trail.ts';
import type { AuditProblem, AuditVerification } from './problems.ts';
import { verifyAuditTrail, type VerifyOptions } from './verify.ts';

// A fresh chain for each kind of tampering, so that each test's expected problems are the whole list.
const guarded = await createTestDatabase();
const tampered = await createTestDatabase();
const rehashed = await createTestDatabase();
const lastRehashed = await createTestDatabase();
const overwritten = await createTestDatabase();
const garbled = await createTestDatabase();
const distant = await createTestDatabase();
const paged = await createTestDatabase();
const since = await createTestDatabase();
const joinedKeys = await createTestDatabase();
const pastHead = await createTestDatabase();
const subMillisecond = await createTestDatabase();
const headless = await createTestDatabase();
const beforeFirst = await createTestDatabase();
const duplicated = await createTestDatabase();
const copiedOver = await createTestDatabase();

/**
 * Verifies in this thread and again with two verifying threads (block-checkers.ts): both must find
 * the same, which is returned. The progress reports are those of the first.
 */
async function verified(db: Database, options: VerifyOptions = {}): Promise<AuditVerification> {
  const alone = await verifyAuditTrail(db, options);
  const { onProgress: _reported, ...rest } = options;
  assert.deepEqual(await verifyAuditTrail(db, { ...rest, threads: 2 }), alone, 'the same with verifying threads');
  return alone;
}

/** `length` records, recorded together: in blocks of `maxBatch`. */
async function writeChain(db: Database, length: number, maxBatch = 7): Promise<void> {
  const trail = createAuditTrail(db, pino({ level: 'silent' }), { maxBatch });
  await Promise.all(Array.from({ length }, (_, index) => trail.record(auditEntry({ requestId: `request-${index + 1}` }))));
  await trail.close();
}

/** What an attacker with the owner's or a superuser's rights can do: switch the guards off, change, switch them on. */
async function withoutGuard(db: Database, change: () => Promise<unknown>): Promise<void> {
  await db`alter table audit_block disable trigger user`;
  await db`alter table audit_chain_head disable trigger user`;
  try {
    await change();
  } finally {
    await db`alter table audit_block enable trigger user`;
    await db`alter table audit_chain_head enable trigger user`;
  }
}

/** The block holding a record (by its sequence, as written): its first sequence, its stored records, and the record's place among them. */
async function locate(db: Database, sequence: number): Promise<{ first: number; index: number; elements: unknown[][] }> {
  const [row] = await db<{ first: bigint; packed: Buffer }[]>`
    select first_sequence as first, packed from audit_block where first_sequence <= ${sequence} order by first_sequence desc limit 1`;
  assert.ok(row, `record ${sequence} is in a block`);
  const json = unpackRecords(row.packed);
  assert.ok(json !== undefined, `the block of record ${sequence} unpacks`);
  return { first: Number(row.first), index: sequence - Number(row.first), elements: JSON.parse(json) as unknown[][] };
}

/** Rewrites the stored records of the block holding `sequence`, packed as the trail packs them. */
async function rewriteBlock(db: Database, sequence: number, change: (elements: unknown[][], index: number) => unknown[][]): Promise<void> {
  const { first, index, elements } = await locate(db, sequence);
  await db`update audit_block set packed = ${packRecords(JSON.stringify(change(elements, index)))} where first_sequence = ${first}`;
}

/** The record at `sequence` as stored: [sequence, fields of the canonical form..., hash] (src/audit/blocks.ts). */
async function element(db: Database, sequence: number): Promise<unknown[]> {
  const { index, elements } = await locate(db, sequence);
  return elements[index] ?? [];
}

/** Writes a record over the one at `sequence`, in place in its block. */
async function overwrite(db: Database, sequence: number, replacement: unknown[]): Promise<void> {
  await rewriteBlock(db, sequence, (elements, index) => elements.with(index, replacement));
}

/** Sets a field of a stored record ([sequence, fields of the canonical form..., hash], src/audit/blocks.ts). */
async function editField(db: Database, sequence: number, position: number, value: unknown): Promise<void> {
  await overwrite(db, sequence, (await element(db, sequence)).with(position, value));
}

/** Sets a record's hash to what its (changed) content hashes to, as a careful attacker would. */
async function rehash(db: Database, sequence: number): Promise<void> {
  const record = await readRecord(db, sequence);
  assert.ok(record);
  await editField(db, sequence, HASH, hashRecord(record, record.prevHash));
}

const USER_ID = 5;
const OUTCOME = 11;
const STATUS = 12;
const PATIENTS = 13;
const HASH = 17;

const kinds = (problems: AuditProblem[]) => problems.map(({ sequence, problem }) => ({ sequence, problem }));

test('the database refuses UPDATE, DELETE and TRUNCATE of audit blocks, and moving the chain head back', async () => {
  const { db } = guarded;
  await writeChain(db, 5);
  await assert.rejects(db`update audit_block set records = '[]' where first_sequence = 1`, /append-only: UPDATE on audit_block/);
  await assert.rejects(db`delete from audit_block where first_sequence = 1`, /append-only: DELETE on audit_block/);
  await assert.rejects(db`truncate audit_block`, /append-only: TRUNCATE on audit_block/);
  await assert.rejects(db`update audit_chain_head set sequence = 2`, /only moves forward/);
  await assert.rejects(db`delete from audit_chain_head`, /append-only: DELETE on audit_chain_head/);
  await assert.rejects(db`truncate audit_chain_head`, /append-only: TRUNCATE on audit_chain_head/);
  assert.deepEqual(await verified(db), { checked: 5, problems: [] });
});

test('verification reports its progress after each page of blocks, up to the head it started from', async () => {
  const { db } = paged;
  await writeChain(db, 16); // blocks of 7, 7 and 2 records
  const reports: [number, number][] = [];
  const { checked } = await verified(db, { pageSize: 1, onProgress: (done, upTo) => reports.push([done, upTo]) });
  assert.equal(checked, 16);
  assert.deepEqual(reports, [[0, 16], [7, 16], [14, 16], [16, 16]], 'one report before the walk and one a page');
});

test('an edited, a removed and two swapped records, and a block that hides its patients, are each named, on any page size', async () => {
  const { db } = tampered;
  // Blocks of 7 (1-7, 8-14...): the records are recorded together and the trail takes 7 at a time.
  await writeChain(db, 100);
  assert.deepEqual(await verified(db), { checked: 100, problems: [] });
  await withoutGuard(db, async () => {
    await editField(db, 10, USER_ID, '999999999999');
    await rewriteBlock(db, 30, (elements, index) => elements.toSpliced(index, 1));
    // Records 50 and 51 change places.
    const [fifty, fiftyOne] = [await element(db, 50), await element(db, 51)];
    await overwrite(db, 50, [50, ...fiftyOne.slice(1)]);
    await overwrite(db, 51, [51, ...fifty.slice(1)]);
    await db`update audit_block set patients = '{}' where first_sequence = 71`;
  });
  const expected = [
    // The user id is the block's key too: the block of 8 to 14 no longer names all its users.
    { sequence: 8, problem: 'misindexed' },
    { sequence: 10, problem: 'edited' },
    { sequence: 30, problem: 'missing' },
    { sequence: 50, problem: 'reordered' },
    { sequence: 51, problem: 'reordered' },
    // 52 was chained after the record now at 50: it too sits after the wrong record.
    { sequence: 52, problem: 'reordered' },
    { sequence: 71, problem: 'misindexed' },
  ];
  const report = await verified(db);
  assert.equal(report.checked, 99);
  assert.deepEqual(kinds(report.problems), expected);
  assert.match(report.problems[2]?.detail ?? '', /record 30 is missing/);
  assert.match(report.problems[6]?.detail ?? '', /records 71 to 77 does not name what its records do \(patients\)/);
  for (const pageSize of [1, 3, 50]) assert.deepEqual(kinds((await verified(db, { pageSize })).problems), expected, `page size ${pageSize}`);
});

test('an edit with its hash recomputed breaks the next link; newest records removed are missing up to the head', async () => {
  const { db } = rehashed;
  await writeChain(db, 40);
  await withoutGuard(db, async () => {
    await editField(db, 20, PATIENTS, []);
    await rehash(db, 20);
    await db`delete from audit_block where first_sequence >= 36`;
  });
  const report = await verified(db);
  assert.deepEqual(kinds(report.problems), [
    { sequence: 21, problem: 'broken link' },
    { sequence: 36, problem: 'missing' },
  ]);
  assert.match(report.problems[1]?.detail ?? '', /records 36 to 40 are missing/);
});

test('the newest record edited and re-hashed no longer matches the chain head', async () => {
  const { db } = lastRehashed;
  await writeChain(db, 10);
  await withoutGuard(db, async () => {
    await editField(db, 10, OUTCOME, 'denied');
    await editField(db, 10, STATUS, 403);
    await rehash(db, 10);
  });
  assert.deepEqual(kinds((await verified(db)).problems), [{ sequence: 10, problem: 'edited' }]);
});

test('a block overwritten with something other than records, packed or not, is named whole, and its records are missing', async () => {
  const overwrites = [
    { db: overwritten.db, packed: packRecords('{"nothing": "here"}') },
    { db: garbled.db, packed: Buffer.from('not compressed at all') },
  ];
  for (const { db, packed } of overwrites) {
    await writeChain(db, 14);
    await withoutGuard(db, () => db`update audit_block set packed = ${packed} where first_sequence = 8`);
    const report = await verified(db);
    assert.deepEqual(kinds(report.problems), [{ sequence: 8, problem: 'missing' }, { sequence: 8, problem: 'edited' }]);
    assert.match(report.problems[1]?.detail ?? '', /records 8 to 14 does not hold records/);
    await assert.rejects(readRecords(db, { after: 0, limit: 100 }), /block of records 8 to 14 cannot be read/, 'records are not listed with a block left out');
  }
});

test('two records swapped further apart than the reorder window are broken links; within it, moved', async () => {
  const { db } = distant;
  // One block, so that the swap leaves every block's keys (its time span among them) as they were.
  await writeChain(db, 30, 30);
  const [stored] = await db<{ blocks: number }[]>`select count(*)::int as blocks from audit_block`;
  assert.equal(stored?.blocks, 1);
  await withoutGuard(db, async () => {
    const [five, twenty] = [await element(db, 5), await element(db, 20)];
    await overwrite(db, 5, [5, ...twenty.slice(1)]);
    await overwrite(db, 20, [20, ...five.slice(1)]);
  });
  // Each swapped record, and the one after each (chained after the record that was there).
  const at = (problem: string) => [5, 6, 20, 21].map((sequence) => ({ sequence, problem }));
  assert.deepEqual(kinds((await verified(db)).problems), at('reordered'));
  assert.deepEqual(kinds((await verified(db, { reorderWindow: 4 })).problems), at('broken link'));
});

test('from an anchor verified before, only the records after it are walked, chained onto it', async () => {
  const { db } = since;
  await writeChain(db, 30); // blocks of 7: the anchor at 10 is inside the block of 8 to 14
  const ten = await readRecord(db, 10);
  assert.ok(ten);
  const anchor = { sequence: 10, hash: ten.hash };
  await withoutGuard(db, async () => {
    await editField(db, 5, OUTCOME, 'failure');
    await editField(db, 20, OUTCOME, 'failure');
  });
  assert.deepEqual(kinds((await verified(db)).problems), [{ sequence: 5, problem: 'edited' }, { sequence: 20, problem: 'edited' }]);
  const report = await verified(db, { from: anchor, pageSize: 1 });
  assert.equal(report.checked, 20);
  assert.deepEqual(kinds(report.problems), [{ sequence: 20, problem: 'edited' }]);
  // An anchor whose hash the trail does not hold: named, and the record after it does not chain onto it.
  const forged = { sequence: 10, hash: 'f'.repeat(64) };
  assert.deepEqual(kinds((await verified(db, { from: forged })).problems), [
    { sequence: 10, problem: 'rewritten' }, { sequence: 11, problem: 'broken link' }, { sequence: 20, problem: 'edited' },
  ]);
  // Nothing after the head: an anchor past it says the trail was cut short.
  assert.deepEqual(kinds((await verified(db, { from: { sequence: 31, hash: ten.hash } })).problems), [{ sequence: 31, problem: 'missing' }]);
});

test('a block whose search keys were joined into one text (a,b for a and b) is misindexed', async () => {
  const { db } = joinedKeys;
  const trail = createAuditTrail(db, pino({ level: 'silent' }), { maxBatch: 2 });
  await Promise.all(['9000000009', '9000000017'].map((nhsNumber, index) => trail.record(auditEntry({ requestId: `request-${index + 1}`, patientNhsNumbers: [nhsNumber] }))));
  await trail.close();
  assert.deepEqual(await verified(db), { checked: 2, problems: [] });
  await withoutGuard(db, () => db`update audit_block set patients = array[array_to_string(patients, ',')]`);
  assert.deepEqual(kinds((await verified(db)).problems), [{ sequence: 1, problem: 'misindexed' }]);
});

/** Inserts a copy of the first block, numbered `first` to `last`, as the service role may insert blocks. */
async function copyFirstBlockTo(db: Queryable, first: number, last: number): Promise<void> {
  await db`
    insert into audit_block (first_sequence, last_sequence, occurred_from, occurred_to, patients, users, organisations, records, packed)
    select ${first}, ${last}, occurred_from, occurred_to, patients, users, organisations, records, packed from audit_block where first_sequence = 1`;
}

/** Listings and searches give the chain's `length` records, and nothing of a block outside it. */
async function assertOnlyTheChainRead(db: Database, length: number): Promise<void> {
  assert.deepEqual((await readRecords(db, { after: 0, limit: 100 })).map((record) => record.sequence), Array.from({ length }, (_, index) => index + 1));
  const found = await searchRecords(db, { patients: ['9000000009'], users: [], organisations: [], dates: [], offset: 0, count: 100, through: null });
  assert.deepEqual(found.records.map((record) => record.sequence), Array.from({ length }, (_, index) => length - index));
}

test('a block put past the chain head (the service may insert blocks) is named, and neither listed nor searched', async () => {
  const { db } = pastHead;
  await writeChain(db, 14);
  await copyFirstBlockTo(db, 1000, 1006);
  assert.deepEqual(kinds((await verified(db)).problems), [{ sequence: 1000, problem: 'past the head' }]);
  await assertOnlyTheChainRead(db, 14);
});

test('a block numbered before the first record is refused to the service role; one put there before migration 0031 is named, and neither listed nor searched', async () => {
  const { db } = beforeFirst;
  await writeChain(db, 14);
  await assert.rejects(db.begin(async (tx) => {
    await tx`set local role openspine_service`;
    await copyFirstBlockTo(tx, -6, 0);
  }), /audit_block_sequences/);
  await db`alter table audit_block drop constraint audit_block_sequences`;
  await copyFirstBlockTo(db, -6, 0);
  assert.deepEqual(kinds((await verified(db)).problems), [{ sequence: -6, problem: 'before the first' }]);
  await assertOnlyTheChainRead(db, 14);
});

test('a record stored twice is named as repeated, and the chain goes on from the first', async () => {
  const { db } = duplicated;
  await writeChain(db, 14);
  await withoutGuard(db, () => rewriteBlock(db, 2, (elements, index) => elements.toSpliced(index + 1, 0, elements[index] ?? [])));
  const problems = kinds((await verified(db)).problems);
  assert.ok(problems.some((problem) => problem.sequence === 2 && problem.problem === 'repeated'), JSON.stringify(problems));
  assert.ok(!problems.some((problem) => problem.problem === 'missing'), 'nothing is said to be missing');
});

test('a record changed and re-hashed is still named when a later record is overwritten with a copy of its successor', async () => {
  const { db } = copiedOver;
  await writeChain(db, 25);
  const successor = await element(db, 6);
  await withoutGuard(db, async () => {
    await editField(db, 5, USER_ID, '111111111111');
    await rehash(db, 5);
    await overwrite(db, 20, [20, ...successor.slice(1)]);
  });
  const problems = kinds((await verified(db)).problems);
  assert.ok(problems.some((problem) => problem.sequence === 6 && problem.problem === 'broken link'), `the link from 6 to the re-hashed 5: ${JSON.stringify(problems)}`);
  assert.ok(problems.some((problem) => problem.sequence === 20), 'and the copy at 20');
});

test('a block whose time span was moved by less than the millisecond a Date shows is misindexed', async () => {
  const { db } = subMillisecond;
  await writeChain(db, 14);
  await withoutGuard(db, () => db`update audit_block set occurred_to = occurred_to + interval '900 microseconds' where first_sequence = 8`);
  const report = await verified(db);
  assert.deepEqual(kinds(report.problems), [{ sequence: 8, problem: 'misindexed' }]);
  assert.match(report.problems[0]?.detail ?? '', /a time below the millisecond/);
});

test('a deleted chain head is named, and every block is still walked and checked; searches and reads fail with a clear 500', async () => {
  const { db } = headless;
  await writeChain(db, 20);
  const eleven = await readRecord(db, 11);
  assert.ok(eleven);
  await withoutGuard(db, async () => {
    await editField(db, 5, OUTCOME, 'failure');
    await db`delete from audit_chain_head`;
  });
  // An anchor the trail passes through, and one past its last record.
  const report = await verified(db, { anchors: [{ sequence: 11, hash: eleven.hash }, { sequence: 30, hash: eleven.hash }] });
  assert.equal(report.checked, 20);
  assert.deepEqual(kinds(report.problems), [
    { sequence: 5, problem: 'edited' },
    { sequence: 20, problem: 'head missing' },
    { sequence: 30, problem: 'missing' },
  ]);
  assert.match(report.problems[1]?.detail ?? '', /chain head \(audit_chain_head, id 1\) is missing.*ending at 20/);
  const headMissing = (error: unknown) => error instanceof SpineError && error.status === 500 && /chain head .* is missing/.test(error.message);
  await assert.rejects(searchRecords(db, { patients: ['9000000009'], users: [], organisations: [], dates: [], offset: 0, count: 10, through: null }), headMissing);
  await assert.rejects(readRecord(db, 11), headMissing);
});
