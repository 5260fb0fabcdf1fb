// Once per test run: one PostgreSQL (embedded, or OPENSPINE_TEST_DATABASE_URL's server), migrated
// once into a template database that each test file clones (test/support/database.ts).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { connectDatabase } from '../../src/platform/db/connect.ts';
import { openEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { freePort } from './ports.ts';

let embedded: EmbeddedServer | undefined;
let dataDir: string | undefined;

export async function globalSetup(): Promise<void> {
  const log = pino({ level: 'warn' });
  let serverUrl = process.env.OPENSPINE_TEST_DATABASE_URL;
  if (!serverUrl) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'openspine-test-'));
    await chmod(dataDir, 0o755); // reachable by the postgres user when the tests run as root
    embedded = await openEmbeddedPostgres({ dataDir, port: await freePort(), log, role: 'tool' });
    serverUrl = embedded.url('postgres');
  }
  const template = `openspine_template_${process.pid}`;
  const admin = connectDatabase(serverUrl, { max: 1 });
  await admin`drop database if exists ${admin(template)}`;
  await admin`create database ${admin(template)}`;
  await admin.end();
  const db = connectDatabase(withDatabase(serverUrl, template), { max: 1 });
  await migrate(db, log);
  await db.end();
  process.env.OPENSPINE_TEST_SERVER_URL = serverUrl;
  process.env.OPENSPINE_TEST_TEMPLATE = template;
}

export async function globalTeardown(): Promise<void> {
  const serverUrl = process.env.OPENSPINE_TEST_SERVER_URL;
  const template = process.env.OPENSPINE_TEST_TEMPLATE;
  if (serverUrl && template && !embedded) {
    const admin = connectDatabase(serverUrl, { max: 1 });
    const leftovers = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${template}%`} or datname like ${`test_${process.pid}_%`}`;
    for (const { datname } of leftovers) await admin`drop database if exists ${admin(datname)} with (force)`;
    await admin.end();
  }
  await embedded?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
