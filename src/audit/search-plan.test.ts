// Every search of the trail is served by an index: with 2,000 blocks (50,000 records) loaded, no query plan of
// the auditors' searches, the read or the verification pages has a sequential scan (style habit 12).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { recordQueryPlans } from '../../test/support/query-plans.ts';
import { parseAuditSearch } from './search.ts';
import { readBlocks, readRecord, searchRecords } from './store.ts';

const BLOCKS = 2_000;
const { db, url } = await createTestDatabase();
// Synthetic blocks of the shape the trail writes (25 records each, a minute apart), made in SQL:
// fast, and only the plans matter here, so their records are left out.
await db`insert into audit_block
  select n * 25 + 1, n * 25 + 25, timestamptz '2020-01-01' + n * interval '25 minutes', timestamptz '2020-01-01' + (n * 25 + 24) * interval '1 minute',
    array(select (9000000000 + n * 25 + r)::text from generate_series(0, 24) r),
    array(select lpad(((n * 5 + r) % 5000)::text, 12, '0') from generate_series(0, 4) r),
    array(select 'A' || lpad(((n * 5 + r) % 2000)::text, 5, '0') from generate_series(0, 4) r),
    '[]'
  from generate_series(0, ${BLOCKS - 1}) n`;
// The head at their end, as appends leave it: searches read the chain up to its head only.
await db`update audit_chain_head set sequence = ${BLOCKS * 25} where id = 1`;
await db`analyze audit_block`;

const { connection: recording, planOf } = recordQueryPlans(url, db);

/** Each search, and the index that must serve it (its own, not a walk of another filtered row by row). */
const SEARCHES: [string, Record<string, string | string[]>, string][] = [
  ['patient', { patient: '9000000009' }, 'audit_block_patients'],
  ['patients in a date range', { patient: '9000000009,9000000017', date: ['ge2020-01-01', 'le2020-12-31'] }, 'audit_block_patients'],
  ['user', { user: '000000001234' }, 'audit_block_users'],
  ['users', { user: '000000001234,000000001235' }, 'audit_block_users'],
  ['user in a date range', { user: '000000001234', date: ['ge2020-01-10', 'le2020-02-12'] }, 'audit_block_users'],
  ['organisation', { organisation: 'A01234' }, 'audit_block_organisations'],
  ['organisation on a day', { organisation: 'A01234', date: '2020-01-10' }, 'audit_block_organisations'],
  ['day', { date: '2020-01-10' }, 'audit_block_occurred'],
  ['date range', { date: ['ge2020-01-10', 'le2020-01-12'] }, 'audit_block_occurred'],
];

for (const [kind, query, index] of SEARCHES) {
  test(`a search by ${kind} uses ${index}, with no sequential scan`, async () => {
    const plan = await planOf(() => searchRecords(recording, parseAuditSearch(query)));
    assert.match(plan, new RegExp(`(Index Scan|Index Scan Backward|Index Only Scan|Bitmap Index Scan) (using|on) ${index}\\b`), plan);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  });
}

test('a read by sequence and a page of the verification walk use the primary key', async () => {
  assert.match(await planOf(() => readRecord(recording, 4242)), /Index Scan Backward using audit_block_pkey/);
  assert.match(await planOf(() => readBlocks(recording, { after: 20_000, upTo: BLOCKS * 25, limit: 100 })), /Index Scan using audit_block_pkey/);
});

test('the search indexes take entries directly, with no pending list for an audit append to merge and stall on', async () => {
  const rows = await db<{ name: string; options: string[] | null }[]>`
    select relname as name, reloptions as options from pg_class where relname in ('audit_block_patients', 'audit_block_users', 'audit_block_organisations')`;
  assert.equal(rows.length, 3);
  for (const row of rows) assert.ok(row.options?.includes('fastupdate=off'), `${row.name}: reloptions ${JSON.stringify(row.options)}`);
});
