// The group-commit writer: every record() resolves only once its batch has committed, batches are
// shared, two processes keep one chain, and a failed append rejects exactly the records it held.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { auditRecords } from '../../test/support/audit.ts';
import { createTestDatabase } from '../../test/support/database.ts';
import { waitFor } from '../../test/support/wait.ts';
import { connectDatabase } from '../platform/db/connect.ts';
import { RECORD_LIMITS } from './chain.ts';
import { auditEntry } from './fixtures.ts';
import { readChainHead, readRecords } from './store.ts';
import { createAuditTrail } from './trail.ts';
import { verifyAuditTrail } from './verify.ts';

const { db, url } = await createTestDatabase();
const log = pino({ level: 'silent' });

/** The request ids of the records after `after`, in chain order. */
async function requestIdsAfter(after: number): Promise<string[]> {
  return (await auditRecords(db, after)).map((record) => record.requestId);
}

/** An entry of the user named: the tests' triggers pick a batch out by its block's users. */
const byUser = (userId: string) => ({ actor: { mode: 'healthcare-worker' as const, userId, activityCodes: [] } });

test('2,000 concurrent records all commit, in far fewer transactions, as one gapless valid chain', async () => {
  const trail = createAuditTrail(db, log);
  const before = await readChainHead(db);
  const entries = Array.from({ length: 2000 }, (_, index) => auditEntry({ requestId: `concurrent-${index}` }));
  await Promise.all(entries.map((entry) => trail.record(entry)));
  await trail.close();

  const written = await auditRecords(db, before.sequence);
  const [blocks] = await db<{ count: bigint }[]>`select count(*) from audit_block where first_sequence > ${before.sequence}`;
  assert.equal(written.length, 2000);
  assert.equal(written[0]?.sequence, before.sequence + 1);
  assert.equal(written.at(-1)?.sequence, before.sequence + 2000, 'no gaps');
  assert.ok(Number(blocks?.count) <= 20, `group commit: ${blocks?.count} transactions for 2,000 records`);
  const [forms] = await db<{ packed: number; text: number }[]>`
    select count(packed)::int as packed, count(records)::int as text from audit_block where first_sequence > ${before.sequence}`;
  assert.deepEqual(forms, { packed: Number(blocks?.count), text: 0 }, 'every block stored packed (packing.ts)');
  assert.deepEqual(new Set(await requestIdsAfter(before.sequence)), new Set(entries.map((entry) => entry.requestId)));
  assert.deepEqual(await verifyAuditTrail(db), { checked: before.sequence + 2000, problems: [] });
});

test('two processes (two pools, two trails) appending together keep one valid chain, verified while they write', async () => {
  const otherPool = connectDatabase(url, { max: 4 });
  const first = createAuditTrail(db, log);
  const second = createAuditTrail(otherPool, log);
  try {
    const before = await readChainHead(db);
    const rounds = 20;
    const verifications: Promise<{ problems: unknown[] }>[] = [];
    for (let round = 0; round < rounds; round++) {
      const batch = Array.from({ length: 25 }, (_, index) => [
        first.record(auditEntry({ requestId: `first-${round}-${index}` })),
        second.record(auditEntry({ requestId: `second-${round}-${index}` })),
      ]).flat();
      verifications.push(verifyAuditTrail(otherPool));
      await Promise.all(batch);
    }
    for (const verification of await Promise.all(verifications)) assert.deepEqual(verification.problems, []);

    const ids = await requestIdsAfter(before.sequence);
    assert.equal(ids.length, rounds * 50);
    const writers = ids.map((id) => id.split('-')[0]);
    const switches = writers.filter((writer, index) => index > 0 && writer !== writers[index - 1]).length;
    assert.ok(switches >= rounds, `the two writers' batches interleave (${switches} switches)`);
    assert.deepEqual((await verifyAuditTrail(db)).problems, []);
  } finally {
    await first.close();
    await second.close();
    await otherPool.end();
  }
});

test('a batch reaching maxBatch is written at once, without waiting for the delay', async () => {
  const trail = createAuditTrail(db, log, { maxBatch: 10, maxDelayMs: 60_000 });
  const started = Date.now();
  await Promise.all(Array.from({ length: 10 }, () => trail.record(auditEntry())));
  assert.ok(Date.now() - started < 10_000, 'not held for the 60 s delay');
  await trail.close();
});

test('records nobody waits for are gathered and written together, at once when an awaited record comes', async () => {
  const trail = createAuditTrail(db, log, { gatherMs: 60_000 });
  const before = await readChainHead(db);
  for (let index = 0; index < 5; index++) await trail.record(auditEntry({ requestId: `gathered-${index}` }), { awaited: false }); // resolved at once
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await readChainHead(db)).sequence, before.sequence, 'still gathering');
  await trail.record(auditEntry({ requestId: 'awaited' }));
  const [blocks] = await db<{ count: number }[]>`select count(*)::int as count from audit_block where first_sequence > ${before.sequence}`;
  assert.equal(blocks?.count, 1, 'one append for all six');
  assert.deepEqual(await requestIdsAfter(before.sequence), ['gathered-0', 'gathered-1', 'gathered-2', 'gathered-3', 'gathered-4', 'awaited']);
  await trail.close();
});

test('gathered records are written after gatherMs without anything else, and by close()', async () => {
  const soon = createAuditTrail(db, log, { gatherMs: 30 });
  const first = await readChainHead(db);
  await soon.record(auditEntry(), { awaited: false });
  await waitFor(async () => (await readChainHead(db)).sequence > first.sequence);
  await soon.close();
  const trail = createAuditTrail(db, log, { gatherMs: 60_000 });
  const before = await readChainHead(db);
  await trail.record(auditEntry({ requestId: 'closing' }), { awaited: false });
  await trail.close();
  assert.deepEqual(await requestIdsAfter(before.sequence), ['closing']);
});

test('a record nobody waits for that cannot be taken is counted as failed, and its caller is not thrown at', async () => {
  const registry = new Registry();
  const trail = createAuditTrail(db, log);
  trail.registerMetrics?.(registry);
  await trail.record(auditEntry({ requestId: 'bad-status', status: 200.5 }), { awaited: false });
  await trail.close();
  await trail.record(auditEntry({ requestId: 'after-close' }), { awaited: false });
  assert.match(await registry.metrics(), /openspine_audit_records_total\{outcome="failed"\} 2\n/);
  assert.ok(!(await auditRecords(db)).some((record) => record.requestId === 'after-close'));
});

test('records are read back a page at a time from any point of the chain, across blocks', async () => {
  const trail = createAuditTrail(db, log, { maxBatch: 7 });
  const before = await readChainHead(db);
  await Promise.all(Array.from({ length: 20 }, (_, index) => trail.record(auditEntry({ requestId: `paged-${index + 1}` }))));
  await trail.close();
  // Blocks of 7: the page starts inside the second block and ends inside the third.
  const page = await readRecords(db, { after: before.sequence + 9, limit: 8 });
  assert.deepEqual(page.map((record) => record.requestId), Array.from({ length: 8 }, (_, index) => `paged-${index + 10}`));
  assert.deepEqual(await readRecords(db, { after: before.sequence + 20, limit: 5 }), [], 'nothing after the head');
});

test('close() writes what is pending, then refuses further records', async () => {
  const trail = createAuditTrail(db, log, { maxDelayMs: 60_000 });
  const entry = auditEntry({ requestId: 'written-on-close' });
  const recorded = trail.record(entry);
  await trail.close();
  await recorded;
  assert.ok((await auditRecords(db)).some((record) => record.requestId === 'written-on-close'));
  await assert.rejects(trail.record(auditEntry()), /closed/);
});

test('a failed append rejects every record of its batch, leaves no trace, and the next batch is written', async () => {
  const trail = createAuditTrail(db, log, { maxDelayMs: 50 });
  const before = await readChainHead(db);
  await db`create function audit_test_poison() returns trigger language plpgsql as $$ begin raise exception 'poisoned batch'; end $$`;
  await db`create trigger audit_test_poison before insert on audit_block for each row when ('poison' = any(new.users)) execute function audit_test_poison()`;
  try {
    // Recorded in one tick, so they share a batch.
    const batch = ['healthy-1', 'poison', 'healthy-2'].map((requestId) => trail.record(auditEntry({ requestId, ...byUser(requestId) })));
    const outcomes = await Promise.allSettled(batch);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['rejected', 'rejected', 'rejected']);
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /poisoned batch/);
  } finally {
    await db`drop trigger audit_test_poison on audit_block`;
    await db`drop function audit_test_poison()`;
  }
  assert.deepEqual(await readChainHead(db), before, 'the head did not move');
  await trail.record(auditEntry({ requestId: 'after-the-failure' }));
  await trail.close();
  assert.deepEqual(await requestIdsAfter(before.sequence), ['after-the-failure']);
  assert.deepEqual((await verifyAuditTrail(db)).problems, []);
});

test('when the database is gone, record() rejects rather than pretending', async () => {
  const pool = connectDatabase(url, { max: 1 });
  const trail = createAuditTrail(pool, log);
  await trail.record(auditEntry());
  await pool.end();
  await assert.rejects(Promise.all([trail.record(auditEntry()), trail.record(auditEntry())]));
  await trail.close();
});

test('an append that waits too long for another process holding the chain head fails, rather than hanging, with the lock or onto its own last head', async () => {
  for (const appendedBefore of [false, true]) {
    const trail = createAuditTrail(db, log, { lockTimeoutMs: 100 });
    // Once it has appended, the next append goes onto this trail's own head, in one statement.
    if (appendedBefore) await trail.record(auditEntry());
    const stalled = await db.reserve();
    try {
      await stalled`begin`;
      await stalled`select sequence from audit_chain_head where id = 1 for update`;
      await assert.rejects(trail.record(auditEntry()), /lock timeout/, `appended before: ${appendedBefore}`);
    } finally {
      await stalled`rollback`;
      stalled.release();
    }
    await trail.record(auditEntry());
    await trail.close();
  }
});

test('while appends are stalled the trail holds at most maxPending records: backlogged from half of it, refusing past it', async () => {
  const trail = createAuditTrail(db, log, { maxPending: 20, lockTimeoutMs: 10_000, gatherMs: 1 });
  const stalled = await db.reserve();
  await stalled`begin`;
  await stalled`select sequence from audit_chain_head where id = 1 for update`;
  const waiting: Promise<void>[] = [];
  try {
    const first = trail.record(auditEntry({ requestId: 'stalled-append' }));
    waiting.push(first);
    await waitFor(async () => (await db<{ waiting: number }[]>`select count(*)::int as waiting from pg_locks where not granted`)[0]?.waiting === 1, { what: () => 'the append to wait for the head' });
    for (let index = 0; index < 9; index++) void trail.record(auditEntry({ requestId: `unawaited-${index}` }), { awaited: false });
    assert.equal(trail.backlogged?.(), false, '9 waiting, of 20');
    void trail.record(auditEntry({ requestId: 'unawaited-9' }), { awaited: false });
    assert.equal(trail.backlogged?.(), true, '10 waiting: every response now waits for its record');
    waiting.push(...Array.from({ length: 10 }, (_, index) => trail.record(auditEntry({ requestId: `held-${index}` }))));
    await assert.rejects(trail.record(auditEntry({ requestId: 'one-too-many' })), /20 records waiting to be written, the most it holds/);
  } finally {
    await stalled`rollback`;
    stalled.release();
  }
  await Promise.all(waiting);
  await trail.close();
  const written = (await auditRecords(db)).map((record) => record.requestId);
  for (const requestId of ['stalled-append', 'unawaited-0', 'unawaited-9', 'held-9']) assert.ok(written.includes(requestId), requestId);
  assert.ok(!written.includes('one-too-many'));
});

test('a name or key longer than any real one is kept cut, and the rest of its batch is written with it', async () => {
  const trail = createAuditTrail(db, log, { maxDelayMs: 20 });
  const long = '9'.repeat(6000);
  const outcomes = await Promise.allSettled([
    trail.record(auditEntry({ requestId: 'beside-long-1' })),
    trail.record(auditEntry({ requestId: 'long-names', patientNhsNumbers: [long], resourceIds: [`Patient/${long}`], detail: 'x'.repeat(10_000) })),
    trail.record(auditEntry({ requestId: 'beside-long-2' })),
  ]);
  assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'fulfilled', 'fulfilled']);
  await trail.close();
  const record = (await auditRecords(db)).find((candidate) => candidate.requestId === 'long-names');
  assert.deepEqual(record?.patientNhsNumbers, [`${'9'.repeat(256)}… (cut from 6000 characters)`]);
  assert.equal(record?.detail, `${'x'.repeat(4096)}… (cut from 10000 characters)`);
  const many = Array.from({ length: RECORD_LIMITS.MAX_NAMES + 500 }, (_, index) => `Patient/${index}`);
  const another = createAuditTrail(db, log);
  await another.record(auditEntry({ requestId: 'many-names', resourceIds: many, detail: 'y'.repeat(5000) }));
  await another.close();
  const named = (await auditRecords(db)).find((candidate) => candidate.requestId === 'many-names');
  assert.equal(named?.resourceIds.length, RECORD_LIMITS.MAX_NAMES);
  assert.match(named?.detail ?? '', /… \(cut from 5000 characters\) \(the record names the first 1000: 500 more resources not named\)$/);
  assert.deepEqual((await verifyAuditTrail(db)).problems, []);
});

test('a value PostgreSQL refuses fails its own record alone: the batch is split until the rest is written', async () => {
  const trail = createAuditTrail(db, log, { maxDelayMs: 20 });
  const before = await readChainHead(db);
  const outcomes = await Promise.allSettled([
    trail.record(auditEntry({ requestId: 'around-refused-1' })),
    trail.record(auditEntry({ requestId: 'around-refused-2' })),
    // A time JavaScript holds and PostgreSQL does not (its timestamps start in 4713 BC).
    trail.record(auditEntry({ requestId: 'refused', occurredAt: new Date('-010000-01-01T00:00:00Z') })),
    trail.record(auditEntry({ requestId: 'around-refused-3' })),
  ]);
  assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  await trail.close();
  assert.deepEqual(await requestIdsAfter(before.sequence), ['around-refused-1', 'around-refused-2', 'around-refused-3']);
  assert.deepEqual((await verifyAuditTrail(db)).problems, []);
});

test('a batch whose text is past what one block may hold is written as several, each readable', async () => {
  const trail = createAuditTrail(db, log, { maxDelayMs: 50 });
  const before = await readChainHead(db);
  // Each record names 1,000 patients and resources of 256 control characters, which JSON writes
  // six characters each: some 3 million characters a record, 21 million for the seven.
  const names = Array.from({ length: RECORD_LIMITS.MAX_NAMES }, () => '\u0001'.repeat(RECORD_LIMITS.MAX_NAME_LENGTH));
  await Promise.all(Array.from({ length: 7 }, (_, index) => trail.record(auditEntry({ requestId: `big-${index}`, patientNhsNumbers: names, resourceIds: names }))));
  await trail.close();
  const [blocks] = await db<{ count: number }[]>`select count(*)::int as count from audit_block where first_sequence > ${before.sequence}`;
  assert.ok((blocks?.count ?? 0) >= 2, `${blocks?.count} blocks`);
  assert.deepEqual(await requestIdsAfter(before.sequence), Array.from({ length: 7 }, (_, index) => `big-${index}`));
  assert.deepEqual((await verifyAuditTrail(db)).problems, []);
});

test('an entry that cannot be stored is refused alone; odd text (NUL, lone surrogates) is stored and verifies', async () => {
  const trail = createAuditTrail(db, log, { maxDelayMs: 20 });
  const odd = auditEntry({ requestId: 'odd-text', detail: 'INVALID_RESOURCE_ID: a\u0000b \uD800 c', correlationId: '\uDFFFx', resourceIds: ['Patient/\u0000'] });
  const outcomes = await Promise.allSettled([
    trail.record(auditEntry({ occurredAt: new Date(Number.NaN) })),
    trail.record(odd),
    trail.record(auditEntry({ status: 200.5 })),
  ]);
  assert.deepEqual(outcomes.map((outcome) => outcome.status), ['rejected', 'fulfilled', 'rejected']);
  await trail.close();
  const row = (await auditRecords(db)).find((record) => record.requestId === 'odd-text');
  assert.equal(row?.detail, 'INVALID_RESOURCE_ID: a\uFFFDb \uFFFD c');
  assert.equal(row?.correlationId, '\uFFFDx');
  assert.deepEqual((await verifyAuditTrail(db)).problems, []);
});

test('throughput: 20,000 records from 64 concurrent callers', async (t) => {
  const trail = createAuditTrail(db, log);
  const total = 20_000;
  const callers = 64;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, async () => {
    while (next < total) {
      next += 1;
      await trail.record(auditEntry());
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await trail.close();
  t.diagnostic(`${Math.round(total / seconds)} records/s (${total} records, ${callers} callers, ${seconds.toFixed(2)} s)`);
  assert.deepEqual((await verifyAuditTrail(db)).problems, []);
});

test('its metrics count appended and failed records, time each batch and show what is pending', async () => {
  const registry = new Registry();
  const trail = createAuditTrail(db, log);
  trail.registerMetrics?.(registry);
  await Promise.all(Array.from({ length: 30 }, () => trail.record(auditEntry())));
  await db`create function audit_test_fail() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`;
  await db`create trigger audit_test_fail before insert on audit_block for each row when ('fail' = any(new.users)) execute function audit_test_fail()`;
  try {
    await assert.rejects(Promise.all([trail.record(auditEntry(byUser('fail'))), trail.record(auditEntry())]));
  } finally {
    await db`drop trigger audit_test_fail on audit_block`;
    await db`drop function audit_test_fail()`;
  }
  await trail.close();
  const text = await registry.metrics();
  assert.match(text, /openspine_audit_records_total\{outcome="appended"\} 30\n/);
  assert.match(text, /openspine_audit_records_total\{outcome="failed"\} 2\n/);
  assert.match(text, /openspine_audit_batch_records_sum 30\n/, 'the batch sizes add up to the records appended');
  assert.match(text, /openspine_audit_append_seconds_count\{how="with-lock"\} 1\n/, 'a trail\'s first batch locks the head: it does not know where it is');
  assert.match(text, /openspine_audit_pending_records 0\n/);
});
