// Which responses wait for their audit record: all of them, but the successes of routes that
// declared they carry no patient data, while the trail keeps up. Shown with an audit trail that
// fails every record a response waits for: a held response is then withheld (503); one that is
// not held is sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../../../test/support/app.ts';
import type { AuditEntry } from '../audit.ts';
import type { Actor } from '../context.ts';
import { PDS_BASE } from '../../pds/routes.ts';

const recorded: AuditEntry[] = [];
/** What the trail says of its backlog (AuditSink.backlogged). */
let backlogged = false;
/** Whether the hook said a response waits for each record (the trail writes the others less often). */
const awaited: (boolean | undefined)[] = [];
const t = await buildTestApp({
  audit: {
    async record(entry, options) {
      recorded.push(entry);
      awaited.push(options?.awaited);
      // As a sink does (AuditSink): a record nobody waits for resolves at once, its failure logged.
      if (options?.awaited === false) return;
      throw new Error('the audit trail is down');
    },
    backlogged: () => backlogged,
  },
});
const admin = await t.adminHeaders();
const DIRECTORY = '/spine-directory/FHIR/R4';
const GP: Actor = { mode: 'healthcare-worker', userId: '555000000001', roleProfileId: '555000000101', activityCodes: [] };

const interactions = () => recorded.map((entry) => `${entry.interaction} ${entry.status}`);

test('a directory create and read are answered while their records are written, and are still recorded', async () => {
  const created = await t.app.inject({ method: 'POST', url: `${DIRECTORY}/Organization`, headers: admin, payload: { resourceType: 'Organization', name: 'Unheld Surgery' } });
  assert.equal(created.statusCode, 201, created.body);
  const { id } = JSON.parse(created.body) as { id: string };
  const read = await t.app.inject({ method: 'GET', url: `${DIRECTORY}/Organization/${id}`, headers: admin });
  assert.equal(read.statusCode, 200, read.body);
  assert.deepEqual(interactions().slice(-2), ['create 201', 'read 200']);
  assert.deepEqual(awaited.slice(-2), [false, false], 'nothing waits for them');
});

test('a directory request that fails is held for its record, and so withheld when it cannot be recorded', async () => {
  const missing = await t.app.inject({ method: 'GET', url: `${DIRECTORY}/Organization/00000000-0000-4000-8000-000000000000`, headers: admin });
  assert.equal(missing.statusCode, 503, missing.body);
  assert.match(missing.body, /could not record this request/);
  assert.deepEqual(interactions().slice(-1), ['read 404']);
  assert.equal(awaited.at(-1), true);
});

test("a patient's data is never sent before its record is durable", async () => {
  const token = await t.token({ actor: GP });
  const read = await t.app.inject({ method: 'GET', url: `${PDS_BASE}/Patient/9000000009`, headers: { authorization: `Bearer ${token}`, 'x-request-id': '7c4f8d53-5b5e-4e0e-9f5a-2f0a4a6d1c11' } });
  assert.equal(read.statusCode, 503, read.body);
  assert.doesNotMatch(read.body, /9000000009/);
  assert.equal(read.headers.etag, undefined, 'a withheld response keeps none of its own headers');
  assert.equal(read.headers['x-request-id'], '7c4f8d53-5b5e-4e0e-9f5a-2f0a4a6d1c11');
  assert.deepEqual(recorded.at(-1)?.patientNhsNumbers, ['9000000009']);
  assert.equal(awaited.at(-1), true);
});

test('while the trail is backlogged, even a response without patient data waits for its record', async () => {
  backlogged = true;
  try {
    const read = await t.app.inject({ method: 'GET', url: `${DIRECTORY}/Organization`, headers: admin });
    assert.equal(read.statusCode, 503, 'held, and so withheld by a trail that cannot record it');
    assert.equal(awaited.at(-1), true);
  } finally {
    backlogged = false;
  }
});
