// Migrations: several processes migrating one empty database at once apply each migration once;
// an edited migration is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import postgres from 'postgres';
import { createTestDatabase } from '../../../test/support/database.ts';
import { connectDatabase, splitSocket } from './connect.ts';
import { listMigrations, migrate } from './migrate.ts';

const log = pino({ level: 'silent' });
const { db, url } = await createTestDatabase();

test('five processes migrating the same database at once apply each migration exactly once', async () => {
  // A database cloned from the migrated template: start it empty again.
  await db.unsafe('drop schema public cascade; create schema public; drop table if exists schema_migration');
  const pools = Array.from({ length: 5 }, () => connectDatabase(url, { max: 2 }));
  try {
    const applied = await Promise.all(pools.map((pool) => migrate(pool, log)));
    const all = applied.flat().sort();
    assert.deepEqual(all, listMigrations().map((migration) => migration.name).sort());
    const rows = await db<{ count: number }[]>`select count(*)::int as count from schema_migration`;
    assert.equal(rows[0]?.count, listMigrations().length);
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
});

test('a migration edited after it was applied is refused', async () => {
  const edited = listMigrations().map((migration, index) => (index === 0 ? { ...migration, checksum: 'edited' } : migration));
  await assert.rejects(migrate(db, log, edited), /was edited after it was applied/);
});

test('a failing migration is rolled back whole and reported', async () => {
  const failing = [...listMigrations(), { version: 9999, name: '9999_broken.sql', sql: 'create table half_done (x int); select * from no_such_table;', checksum: 'x' }];
  await assert.rejects(migrate(db, log, failing), /9999_broken\.sql failed/);
  const [table] = await db`select 1 from pg_tables where tablename = 'half_done'`;
  assert.equal(table, undefined, 'no half-applied migration');
});

test('a login that does not own the schema (the services\' on a cluster) finds nothing to apply once the owner has migrated, and runs no DDL', async () => {
  // Sessions that act as the services' role from their start, as a login granted only that role does.
  const { url: address, ...socket } = splitSocket(url);
  const service = postgres(address, { ...socket, max: 1, onnotice: () => undefined, connection: { role: 'openspine_service' } });
  try {
    const [who] = await service<{ role: string }[]>`select current_user as role`;
    assert.equal(who?.role, 'openspine_service');
    assert.deepEqual(await migrate(service, log), []);
  } finally {
    await service.end();
  }
});
