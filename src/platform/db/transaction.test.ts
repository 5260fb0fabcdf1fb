// transaction(): BEGIN sent with the first statements must still make them one transaction,
// committed together or not at all, against a real PostgreSQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../../test/support/database.ts';
import { isPool } from './coalesce.ts';
import { transaction } from './transaction.ts';

const { db } = await createTestDatabase();
await db`create table transaction_probe (name text primary key)`;
const names = async () => (await db<{ name: string }[]>`select name from transaction_probe order by name`).map((row) => row.name);

test('the statements of a transaction, its first one included, are committed together in one transaction', async () => {
  const result = await transaction(db, async (tx) => {
    const [first] = await tx<{ xid: string }[]>`insert into transaction_probe values ('a') returning pg_current_xact_id()::text as xid`;
    const [second] = await tx<{ xid: string }[]>`insert into transaction_probe values ('b') returning pg_current_xact_id()::text as xid`;
    assert.equal(first?.xid, second?.xid, 'both in one transaction');
    return 'done';
  });
  assert.equal(result, 'done');
  assert.deepEqual(await names(), ['a', 'b']);
});

test('work that fails after writing leaves nothing written, its first statement included', async () => {
  await assert.rejects(
    transaction(db, async (tx) => {
      await tx`insert into transaction_probe values ('c')`;
      throw new Error('the work changed its mind');
    }),
    /changed its mind/,
  );
  await assert.rejects(
    transaction(db, async (tx) => {
      await tx`insert into transaction_probe values ('d')`;
      await tx`insert into transaction_probe values ('a')`; // taken: the database refuses it
    }),
    /duplicate key/,
  );
  assert.deepEqual(await names(), ['a', 'b']);
});

test('a transaction is not taken for the pool: batched statements never run through it', async () => {
  assert.equal(isPool(db), true);
  await transaction(db, async (tx) => assert.equal(isPool(tx), false));
  await db.begin(async (tx) => assert.equal(isPool(tx), false));
});
