// The hash chain's canonical form: every field is covered, the order of records is fixed by the
// links, text is made storable before it is hashed, and a block reads back as the records chained.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockKeys, blockRecords, chainBlock } from './blocks.ts';
import { auditFields, GENESIS_HASH, hashRecord, type AuditFields } from './chain.ts';
import { auditEntry } from './fixtures.ts';

const fields = auditFields(auditEntry({ occurredAt: new Date('2024-05-01T12:00:00.123Z'), requestId: 'r-1', correlationId: 'c-1' }));

test('the same fields always hash the same; a change to any field, or to the previous hash, changes the hash', () => {
  const hash = hashRecord(fields, GENESIS_HASH);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(hashRecord({ ...fields, patientNhsNumbers: [...fields.patientNhsNumbers] }, GENESIS_HASH), hash);
  const changes: Partial<AuditFields>[] = [
    { occurredAt: new Date('2024-05-01T12:00:00.124Z') }, { requestId: 'r-2' }, { correlationId: null }, { actorMode: 'system' },
    { userId: null }, { roleProfileId: '1' }, { organisationOds: 'B12345' }, { applicationId: 'app' }, { service: 'x' },
    { interaction: 'vread' }, { outcome: 'denied' }, { status: 403 }, { patientNhsNumbers: [] }, { resourceIds: ['Patient/1', 'Patient/2'] },
    { detail: '' },
  ];
  for (const change of changes) assert.notEqual(hashRecord({ ...fields, ...change }, GENESIS_HASH), hash, JSON.stringify(change));
  assert.notEqual(hashRecord(fields, 'f'.repeat(64)), hash);
  // Fields that would serialise alike if joined naively are still told apart.
  assert.notEqual(hashRecord({ ...fields, resourceIds: ['a,b'] }, GENESIS_HASH), hashRecord({ ...fields, resourceIds: ['a', 'b'] }, GENESIS_HASH));
});

test('chaining numbers a batch on from the head, each record linked to the one before', () => {
  const first = chainBlock({ sequence: 0, hash: GENESIS_HASH }, [fields, fields]);
  assert.deepEqual(first.records.map((record) => record.sequence), [1, 2]);
  assert.equal(first.records[0]?.prevHash, GENESIS_HASH);
  assert.equal(first.records[1]?.prevHash, first.records[0]?.hash);
  assert.notEqual(first.records[0]?.hash, first.records[1]?.hash, 'identical content, different place in the chain');
  assert.deepEqual(first.head, { sequence: 2, hash: first.records[1]?.hash });
  const second = chainBlock(first.head, [fields]);
  assert.equal(second.records[0]?.sequence, 3);
  assert.equal(second.records[0]?.prevHash, first.head.hash);
});

test('text PostgreSQL could not store as given is made storable before hashing; an unstorable entry is refused', () => {
  const odd = auditFields(auditEntry({ detail: 'a\u0000b\uD800', requestId: '\uDC00' }));
  assert.equal(odd.detail, 'a\uFFFDb\uFFFD');
  assert.equal(odd.requestId, '\uFFFD');
  assert.throws(() => auditFields(auditEntry({ occurredAt: new Date('not a date') })), /valid occurredAt/);
  assert.throws(() => auditFields(auditEntry({ status: Number.NaN })), /whole-number status/);
});

test('a block holds its records as chained, hashes intact, and the keys the searches find it by', () => {
  const gp = auditFields(auditEntry({ occurredAt: new Date('2024-05-01T12:00:01.000Z'), patientNhsNumbers: ['9000000009', '9000000017'] }));
  const system = auditFields(auditEntry({ occurredAt: new Date('2024-05-01T12:00:00.500Z'), actor: { mode: 'system', activityCodes: [] }, patientNhsNumbers: [] }));
  const { records, block } = chainBlock({ sequence: 9, hash: GENESIS_HASH }, [fields, gp, system]);
  assert.deepEqual(blockRecords(block.records), records);
  for (const record of records) assert.equal(hashRecord(record, record.prevHash), record.hash);
  assert.deepEqual([block.firstSequence, block.lastSequence], [10, 12]);
  assert.deepEqual(block.patients.sort(), ['9000000009', '9000000017']);
  assert.deepEqual(block.users, ['555555555555'], 'the system call names no user');
  assert.deepEqual(block.organisations, ['A83008']);
  assert.deepEqual([block.occurredFrom.toISOString(), block.occurredTo.toISOString()], ['2024-05-01T12:00:00.123Z', '2024-05-01T12:00:01.000Z']);
  assert.deepEqual(blockKeys(records), { occurredFrom: block.occurredFrom, occurredTo: block.occurredTo, patients: block.patients, users: block.users, organisations: block.organisations });
  assert.equal(blockRecords('[[1, "not a record"]]'), undefined);
  assert.equal(blockRecords('{"records": []}'), undefined);
  assert.equal(blockRecords('[[1,'), undefined);
});
