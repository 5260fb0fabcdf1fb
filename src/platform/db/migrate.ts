// Numbered SQL migrations in migrations/, applied in order, each in its own transaction, under an
// advisory lock so that several OpenSpine processes starting together on one database do not race.
// A landed migration is never edited: its checksum is recorded and checked on every start.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Database } from './connect.ts';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../migrations/', import.meta.url));
/** Arbitrary, fixed: the key of the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK_KEY = 73_000_001;

export type Migration = { version: number; name: string; sql: string; checksum: string };

export function listMigrations(folder = MIGRATIONS_FOLDER): Migration[] {
  return readdirSync(folder)
    .filter((file) => /^\d{4}_[a-z0-9_-]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(folder, file), 'utf8');
      return { version: Number(file.slice(0, 4)), name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** Applies every pending migration; returns the names of those it applied. */
export async function migrate(sql: Database, log: Logger, migrations = listMigrations()): Promise<string[]> {
  const session = await sql.reserve();
  try {
    await session`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    // Made only when missing: a login that does not own the schema (the services' on a cluster,
    // README) may not run even `create table if not exists`, and has nothing to apply once the
    // owner has migrated.
    const [ledger] = await session<{ exists: boolean }[]>`select to_regclass('schema_migration') is not null as exists`;
    if (!ledger?.exists) {
      await session`create table schema_migration (
        version integer primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`;
    }
    const applied = new Map((await session<{ version: number; checksum: string; name: string }[]>`
      select version, checksum, name from schema_migration`).map((row) => [row.version, row]));
    const done: string[] = [];
    for (const migration of migrations) {
      const existing = applied.get(migration.version);
      if (existing) {
        if (existing.checksum !== migration.checksum) {
          throw new Error(`Migration ${migration.name} was edited after it was applied (as ${existing.name}); add a new migration instead`);
        }
        continue;
      }
      await session.unsafe('begin');
      try {
        await session.unsafe(migration.sql);
        await session`insert into schema_migration (version, name, checksum) values (${migration.version}, ${migration.name}, ${migration.checksum})`;
        await session.unsafe('commit');
      } catch (error) {
        await session.unsafe('rollback');
        throw new Error(`Migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      log.info({ migration: migration.name }, 'migration applied');
      done.push(migration.name);
    }
    return done;
  } finally {
    await session`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => undefined);
    session.release();
  }
}
