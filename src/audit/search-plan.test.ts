// Every search of the trail is served by an index: with 50,000 records loaded, no query plan of
// the auditors' searches, the read or the verification pages has a sequential scan (style habit 12).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { recordQueryPlans } from '../../test/support/query-plans.ts';
import { parseAuditSearch } from './search.ts';
import { readChainPage, readRecord, searchRecords } from './store.ts';

const ROWS = 50_000;
const { db, url } = await createTestDatabase();
// Synthetic rows of the shape the trail writes, made in SQL: fast, and only the plans matter here.
await db`insert into audit_record
  select n, timestamptz '2020-01-01' + n * interval '1 minute', 'request-' || n, null, 'healthcare-worker',
    lpad((n % 5000)::text, 12, '0'), lpad((n % 7000)::text, 12, '0'), 'A' || lpad((n % 2000)::text, 5, '0'), null,
    'personal-demographics', 'read', 'success', 200, array[(9000000000 + n)::text], array['Patient/' || n], null, '', ''
  from generate_series(1, ${ROWS}) n`;
await db`analyze audit_record`;

const { connection: recording, planOf } = recordQueryPlans(url, db);

/** Each search, and the index that must serve it (its own, not a walk of another filtered row by row). */
const SEARCHES: [string, Record<string, string | string[]>, string][] = [
  ['patient', { patient: '9000000009' }, 'audit_record_patient'],
  ['patients in a date range', { patient: '9000000009,9000000017', date: ['ge2020-01-01', 'le2020-12-31'] }, 'audit_record_patient'],
  ['user', { user: '000000001234' }, 'audit_record_user'],
  ['users', { user: '000000001234,000000001235' }, 'audit_record_user'],
  ['user in a date range', { user: '000000001234', date: ['ge2020-01-10', 'le2020-02-12'] }, 'audit_record_user'],
  ['organisation', { organisation: 'A01234' }, 'audit_record_organisation'],
  ['organisation on a day', { organisation: 'A01234', date: '2020-01-10' }, 'audit_record_organisation'],
  ['day', { date: '2020-01-10' }, 'audit_record_occurred_at'],
  ['date range', { date: ['ge2020-01-10', 'le2020-01-12'] }, 'audit_record_occurred_at'],
  ['open-ended date', { date: 'ge2020-01-02' }, 'audit_record_occurred_at'],
];

for (const [kind, query, index] of SEARCHES) {
  test(`a search by ${kind} uses ${index}, with no sequential scan`, async () => {
    const plan = await planOf(() => searchRecords(recording, parseAuditSearch(query)));
    assert.match(plan, new RegExp(`(Index Scan|Index Scan Backward|Index Only Scan|Bitmap Index Scan) (using|on) ${index}\\b`), plan);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  });
}

test('a read by sequence and a page of the verification walk use the primary key', async () => {
  assert.match(await planOf(() => readRecord(recording, 4242)), /Index Scan using audit_record_pkey/);
  assert.match(await planOf(() => readChainPage(recording, { after: 20_000, upTo: ROWS, limit: 10_000 })), /Index Scan using audit_record_pkey/);
});

test('the patient index takes entries directly, with no pending list for an audit append to merge and stall on', async () => {
  const [row] = await db<{ options: string[] | null }[]>`select reloptions as options from pg_class where relname = 'audit_record_patient'`;
  assert.ok(row?.options?.includes('fastupdate=off'), `reloptions ${JSON.stringify(row?.options)}`);
});
