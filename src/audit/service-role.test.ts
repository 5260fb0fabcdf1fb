// The role the services run as cannot change the audit trail: no UPDATE, DELETE or TRUNCATE, and
// not the owner, so it cannot switch the trail's triggers off either.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';

const { db } = await createTestDatabase();

async function asServiceRole(statement: string): Promise<void> {
  await db.begin(async (tx) => {
    await tx`set local role openspine_service`;
    await tx.unsafe(statement);
  });
}

test('the service role may append to the trail but not change it, nor switch off its triggers', async () => {
  await db`insert into audit_record (sequence, occurred_at, request_id, service, interaction, outcome, status, patient_nhs_numbers, resource_ids, prev_hash, hash)
           values (1, now(), 'r1', 'test', 'read', 'success', 200, '{}', '{}', repeat('0', 64), repeat('1', 64))`;
  for (const statement of ["update audit_record set status = 500", 'delete from audit_record', 'truncate audit_record', 'delete from audit_chain_head', 'alter table audit_record disable trigger all']) {
    await assert.rejects(asServiceRole(statement), /permission denied|must be owner/, statement);
  }
  await asServiceRole('select count(*) from audit_record');
  await asServiceRole("insert into fhir_token (resource_type, id, param, code) values ('X', '1', 'p', 'c')");
});
