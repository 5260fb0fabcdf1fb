// Each test file gets its own database, cloned from the migrated template of this test run, so
// files run in parallel without seeing each other's data.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { connectDatabase, type Database } from '../../src/platform/db/connect.ts';
import { withDatabase } from './global-setup.ts';

export type TestDatabase = { db: Database; url: string };

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.OPENSPINE_TEST_SERVER_URL;
  const template = process.env.OPENSPINE_TEST_TEMPLATE;
  if (!serverUrl || !template) throw new Error('Run the tests with `npm test`: the global setup provides the database server');
  const name = `test_${template.split('_').pop() ?? ''}_${randomBytes(6).toString('hex')}`;
  const admin = connectDatabase(serverUrl, { max: 1 });
  await admin`create database ${admin(name)} template ${admin(template)}`;
  const url = withDatabase(serverUrl, name);
  const db = connectDatabase(url, { max: 10 });
  after(async () => {
    await db.end({ timeout: 5 });
    await admin`drop database if exists ${admin(name)} with (force)`;
    await admin.end();
  });
  return { db, url };
}
