// Anchors: someone with every right on the database rewrites the whole chain so that it verifies,
// or cuts its end and moves the head back; the hashes the server published before show both.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createTestDatabase } from '../../test/support/database.ts';
import type { Database } from '../platform/db/connect.ts';
import { anchorsInLog, formatAnchor, parseAnchor, publishAnchors } from './anchors.ts';
import { chainBlock } from './blocks.ts';
import { GENESIS_HASH } from './chain.ts';
import { auditEntry } from './fixtures.ts';
import { appendBlockAfter, readBlocks, readChainHead, readRecord } from './store.ts';
import { createAuditTrail } from './trail.ts';
import { verifyAuditTrail } from './verify.ts';
import { waitFor } from '../../test/support/wait.ts';

const rewritten = await createTestDatabase();
const cut = await createTestDatabase();
const published = await createTestDatabase();

async function writeChain(db: Database, requestIds: string[]): Promise<void> {
  const trail = createAuditTrail(db, pino({ level: 'silent' }));
  await Promise.all(requestIds.map((requestId) => trail.record(auditEntry({ requestId }))));
  await trail.close();
}

/** As an attacker with a superuser's rights: every trigger off, the change, every trigger on. */
async function withoutAnyGuard(db: Database, change: () => Promise<unknown>): Promise<void> {
  await db`alter table audit_block disable trigger all`;
  await db`alter table audit_chain_head disable trigger all`;
  try {
    await change();
  } finally {
    await db`alter table audit_block enable trigger all`;
    await db`alter table audit_chain_head enable trigger all`;
  }
}

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}-${index + 1}`);

test('a chain edited and re-hashed from start to head verifies, until checked against an anchor published before', async () => {
  const { db } = rewritten;
  await writeChain(db, ids('first', 10));
  const anchor = await readChainHead(db);
  await writeChain(db, ids('later', 5));

  await withoutAnyGuard(db, async () => {
    const records = (await readBlocks(db, { after: 0, upTo: 15, limit: 100 })).flatMap((block) => block.records ?? []);
    const edited = records.map((record) => (record.sequence === 4 ? { ...record, detail: 'nothing happened here' } : record));
    const { block, head } = chainBlock({ sequence: 0, hash: GENESIS_HASH }, edited);
    const current = await readChainHead(db);
    await db`delete from audit_block`;
    assert.ok(await appendBlockAfter(db, block, { after: current, head, lockTimeoutMs: 5_000 }));
  });

  assert.deepEqual(await verifyAuditTrail(db), { checked: 15, problems: [] }, 'a careful rewrite passes the chain checks alone');
  const { problems } = await verifyAuditTrail(db, { anchors: [anchor] });
  assert.deepEqual(problems.map(({ sequence, problem }) => ({ sequence, problem })), [{ sequence: 10, problem: 'rewritten' }]);
});

test('records cut from the end, with the head moved back, are missing against an anchor', async () => {
  const { db } = cut;
  await writeChain(db, ids('kept', 8));
  await writeChain(db, ids('cut', 4));
  const anchor = await readChainHead(db);
  await withoutAnyGuard(db, async () => {
    const last = await readRecord(db, 8);
    await db`delete from audit_block where first_sequence > 8`;
    await db`update audit_chain_head set sequence = 8, hash = ${last?.hash ?? ''} where id = 1`;
  });
  assert.deepEqual((await verifyAuditTrail(db)).problems, []);
  const { problems } = await verifyAuditTrail(db, { anchors: [anchor] });
  assert.deepEqual(problems.map(({ sequence, problem }) => ({ sequence, problem })), [{ sequence: 12, problem: 'missing' }]);
});

test('the server logs the head when it has moved, and verify reads the anchors back from that log', async () => {
  const { db } = published;
  const lines: string[] = [];
  const log = pino(new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  }));
  await writeChain(db, ids('logged', 3));
  const publisher = publishAnchors(db, log, 20);
  try {
    await waitFor(() => lines.length === 1);
    await writeChain(db, ids('logged-more', 2));
    await waitFor(() => lines.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(lines.length, 2, 'nothing logged while the head stays where it is');
  } finally {
    publisher.stop();
  }
  const anchors = anchorsInLog(`${lines.join('')}{"msg":"audit anchor","anchor":"cut short\nnot json\n`);
  assert.deepEqual(anchors.map((anchor) => anchor.sequence), [3, 5]);
  assert.deepEqual(anchors[1], await readChainHead(db));
  assert.deepEqual((await verifyAuditTrail(db, { anchors })).problems, []);
});

test('an anchor is sequence:hash, and anything else is refused with what was expected', () => {
  const head = { sequence: 42, hash: 'ab'.repeat(32) };
  assert.deepEqual(parseAnchor(formatAnchor(head)), head);
  for (const bad of ['42', `x:${'ab'.repeat(32)}`, `42:${'AB'.repeat(32)}`, `42:${'ab'.repeat(31)}`]) {
    assert.throws(() => parseAnchor(bad), /expected <sequence>:<sha256 hex>/);
  }
});
