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
  await asServiceRole(`insert into audit_block values (1, 1, now(), now(), '{}', '{}', '{}', '[]')`);
  for (const statement of ["update audit_block set records = '[]'", 'delete from audit_block', 'truncate audit_block', 'delete from audit_chain_head', 'alter table audit_block disable trigger all']) {
    await assert.rejects(asServiceRole(statement), /permission denied|must be owner/, statement);
  }
  await asServiceRole('select count(*) from audit_block');
  await asServiceRole("insert into fhir_token (resource_type, id, param, code) values ('X', '1', 'p', 'c')");
});
