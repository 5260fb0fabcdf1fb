// Blocks are checked alike in the verifying threads and in the caller's own, and a thread that
// cannot check a block fails the verification rather than let the block pass unchecked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBlock } from './block-check.ts';
import { blockCheckers } from './block-checkers.ts';
import { chainBlock } from './blocks.ts';
import { auditFields, GENESIS_HASH } from './chain.ts';
import { auditEntry } from './fixtures.ts';
import { packRecords } from './packing.ts';
import type { BlockRow } from './store.ts';

/** A block of three records as the trail stores it, the second edited after it was hashed. */
function storedBlock(): BlockRow {
  const { block } = chainBlock({ sequence: 0, hash: GENESIS_HASH }, [1, 2, 3].map((index) => auditFields(auditEntry({ requestId: `checked-${index}` }))));
  const records = block.records.replace('checked-2', 'altered-2');
  return {
    first_sequence: BigInt(block.firstSequence),
    last_sequence: BigInt(block.lastSequence),
    occurred_from: block.occurredFrom,
    occurred_to: block.occurredTo,
    patients: block.patients,
    users: block.users,
    organisations: block.organisations,
    records: null,
    packed: packRecords(records),
  };
}

test('a verifying thread checks a block as the caller\'s own thread does', async () => {
  const row = storedBlock();
  const checkers = blockCheckers(2);
  try {
    const [first, second] = await Promise.all([checkers.check(row), checkers.check(row)]);
    assert.deepEqual(first, checkBlock(row));
    assert.deepEqual(second, checkBlock(row));
    assert.deepEqual(first?.intact, [true, false, true], 'the edited record is found');
  } finally {
    await checkers.close();
  }
});

test('a block a thread cannot check fails the check; closed checkers check nothing', async () => {
  const checkers = blockCheckers(1);
  await assert.rejects(checkers.check({ ...storedBlock(), occurred_from: 'not an instant' as never }), TypeError);
  await checkers.close();
  await assert.rejects(checkers.check(storedBlock()), /closed/);
  assert.throws(() => blockCheckers(-1), RangeError);
});
