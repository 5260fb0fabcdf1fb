// Migration 0024 moves a trail written a row per record into blocks: every record kept, as written,
// so the chain verifies as before and the searches find what they found.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createTestDatabase } from '../../test/support/database.ts';
import { listMigrations, migrate } from '../platform/db/migrate.ts';
import { chainBlock } from './blocks.ts';
import { auditFields, GENESIS_HASH } from './chain.ts';
import { auditEntry } from './fixtures.ts';
import { parseAuditSearch } from './search.ts';
import { readRecords, searchRecords } from './store.ts';
import { verifyAuditTrail } from './verify.ts';

const log = pino({ level: 'silent' });
const { db } = await createTestDatabase();
const RECORDS = 1_234;

test('records written a row each before 0024 are blocks after it, chain intact, searchable as before', async () => {
  // A database cloned from the migrated template: start it empty, and migrate it to before 0024.
  await db.unsafe('drop schema public cascade; create schema public; drop table if exists schema_migration');
  await migrate(db, log, listMigrations().filter((migration) => migration.version < 24));
  const entries = Array.from({ length: RECORDS }, (_, index) => auditFields(auditEntry({
    occurredAt: new Date(Date.UTC(2025, 0, 1) + index * 1000),
    requestId: `before-0024-${index + 1}`,
    // One record names a patient whose NHS number is valid, for the search.
    patientNhsNumbers: index === 778 ? ['9000000009'] : index % 3 === 0 ? [] : [`${9000000000 + index}`],
    ...(index % 5 === 0 ? { actor: { mode: 'system', activityCodes: [] } } : {}),
  })));
  const { records, head } = chainBlock({ sequence: 0, hash: GENESIS_HASH }, entries);
  const rows = records.map((record) => ({
    sequence: record.sequence, occurred_at: record.occurredAt.toISOString(), request_id: record.requestId, correlation_id: record.correlationId,
    actor_mode: record.actorMode, user_id: record.userId, role_profile_id: record.roleProfileId, organisation_ods: record.organisationOds,
    application_id: record.applicationId, service: record.service, interaction: record.interaction, outcome: record.outcome, status: record.status,
    patient_nhs_numbers: record.patientNhsNumbers, resource_ids: record.resourceIds, detail: record.detail, prev_hash: record.prevHash, hash: record.hash,
  }));
  await db`insert into audit_record select * from jsonb_populate_recordset(null::audit_record, ${db.json(rows)})`;
  await db`update audit_chain_head set sequence = ${head.sequence}, hash = ${head.hash} where id = 1`;

  assert.equal((await migrate(db, log))[0], '0024_audit_blocks.sql');
  const [text] = await db<{ packed: number }[]>`select count(*)::int as packed from audit_block where packed is not null`;
  assert.equal(text?.packed, 0, 'blocks moved by 0024 keep their text');

  const blocks = await db<{ first: bigint; last: bigint }[]>`select first_sequence as first, last_sequence as last from audit_block order by 1`;
  assert.deepEqual(blocks.map((block) => [Number(block.first), Number(block.last)]), [[1, 500], [501, 1000], [1001, 1234]]);
  assert.deepEqual(await verifyAuditTrail(db), { checked: RECORDS, problems: [] }, 'every record, its hash and its block\'s keys as written');
  const [read] = await readRecords(db, { after: 778, limit: 1 });
  assert.deepEqual(read && [read.sequence, read.requestId, read.patientNhsNumbers, read.userId], [779, 'before-0024-779', ['9000000009'], '555555555555'], 'read back from its block\'s text, which 0027 leaves as it was');
  const found = await searchRecords(db, parseAuditSearch({ patient: '9000000009' }));
  assert.deepEqual(found.records.map((record) => record.requestId), ['before-0024-779']);
});
