// Tamper evidence: the database refuses changes to the trail, and when someone able to switch its
// triggers off edits, removes, re-hashes or moves records, verification names each one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createTestDatabase } from '../../test/support/database.ts';
import type { Database } from '../platform/db/connect.ts';
import { hashRecord } from './chain.ts';
import { auditEntry } from './fixtures.ts';
import { readRecord } from './store.ts';
import { createAuditTrail } from './trail.ts';
import type { AuditProblem } from './problems.ts';
import { verifyAuditTrail } from './verify.ts';

// A fresh chain for each kind of tampering, so that each test's expected problems are the whole list.
const guarded = await createTestDatabase();
const tampered = await createTestDatabase();
const rehashed = await createTestDatabase();
const lastRehashed = await createTestDatabase();

async function writeChain(db: Database, length: number): Promise<void> {
  const trail = createAuditTrail(db, pino({ level: 'silent' }), { maxBatch: 7 });
  await Promise.all(Array.from({ length }, (_, index) => trail.record(auditEntry({ requestId: `request-${index + 1}` }))));
  await trail.close();
}

/** What an attacker with the owner's or a superuser's rights can do: switch the guard off, change, switch it on. */
async function withoutGuard(db: Database, change: () => Promise<unknown>): Promise<void> {
  await db`alter table audit_record disable trigger user`;
  try {
    await change();
  } finally {
    await db`alter table audit_record enable trigger user`;
  }
}

/** Sets a record's hash to what its (changed) content hashes to, as a careful attacker would. */
async function rehash(db: Database, sequence: number): Promise<void> {
  const record = await readRecord(db, sequence);
  assert.ok(record);
  await db`update audit_record set hash = ${hashRecord(record, record.prevHash)} where sequence = ${sequence}`;
}

const kinds = (problems: AuditProblem[]) => problems.map(({ sequence, problem }) => ({ sequence, problem }));

test('the database refuses UPDATE, DELETE and TRUNCATE of audit records, and moving the chain head back', async () => {
  const { db } = guarded;
  await writeChain(db, 5);
  await assert.rejects(db`update audit_record set detail = 'nothing to see' where sequence = 2`, /append-only: UPDATE on audit_record/);
  await assert.rejects(db`delete from audit_record where sequence = 3`, /append-only: DELETE on audit_record/);
  await assert.rejects(db`truncate audit_record`, /append-only: TRUNCATE on audit_record/);
  await assert.rejects(db`update audit_chain_head set sequence = 2`, /only moves forward/);
  await assert.rejects(db`delete from audit_chain_head`, /append-only: DELETE on audit_chain_head/);
  await assert.rejects(db`truncate audit_chain_head`, /append-only: TRUNCATE on audit_chain_head/);
  assert.deepEqual(await verifyAuditTrail(db), { checked: 5, problems: [] });
});

test('an edited, a removed and two swapped records are each named, with what is wrong, on any page size', async () => {
  const { db } = tampered;
  await writeChain(db, 100);
  assert.deepEqual(await verifyAuditTrail(db), { checked: 100, problems: [] });
  await withoutGuard(db, async () => {
    await db`update audit_record set user_id = '999999999999' where sequence = 10`;
    await db`delete from audit_record where sequence = 30`;
    // Records 50 and 51 change places.
    await db`update audit_record set sequence = -51 where sequence = 51`;
    await db`update audit_record set sequence = 51 where sequence = 50`;
    await db`update audit_record set sequence = 50 where sequence = -51`;
  });
  const expected = [
    { sequence: 10, problem: 'edited' },
    { sequence: 30, problem: 'missing' },
    { sequence: 50, problem: 'reordered' },
    { sequence: 51, problem: 'reordered' },
    // 52 was chained after the record now at 50: it too sits after the wrong record.
    { sequence: 52, problem: 'reordered' },
  ];
  const report = await verifyAuditTrail(db);
  assert.equal(report.checked, 99);
  assert.deepEqual(kinds(report.problems), expected);
  assert.match(report.problems[1]?.detail ?? '', /record 30 is missing/);
  for (const pageSize of [1, 7, 50]) assert.deepEqual(kinds((await verifyAuditTrail(db, { pageSize })).problems), expected, `page size ${pageSize}`);
});

test('an edit with its hash recomputed breaks the next link; newest records removed are missing up to the head', async () => {
  const { db } = rehashed;
  await writeChain(db, 40);
  await withoutGuard(db, async () => {
    await db`update audit_record set patient_nhs_numbers = '{}' where sequence = 20`;
    await rehash(db, 20);
    await db`delete from audit_record where sequence >= 38`;
  });
  const report = await verifyAuditTrail(db);
  assert.deepEqual(kinds(report.problems), [
    { sequence: 21, problem: 'broken link' },
    { sequence: 38, problem: 'missing' },
  ]);
  assert.match(report.problems[1]?.detail ?? '', /records 38 to 40 are missing/);
});

test('the newest record edited and re-hashed no longer matches the chain head', async () => {
  const { db } = lastRehashed;
  await writeChain(db, 10);
  await withoutGuard(db, async () => {
    await db`update audit_record set outcome = 'denied', status = 403 where sequence = 10`;
    await rehash(db, 10);
  });
  assert.deepEqual(kinds((await verifyAuditTrail(db)).problems), [{ sequence: 10, problem: 'edited' }]);
});
