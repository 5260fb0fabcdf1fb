// The contains index's pending list is merged by OpenSpine, as the service role, so that no create
// finds it full and merges it while its client waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { buildTestApp } from '../../../test/support/app.ts';
import { CONTAINS_MERGE_INTERVAL_MS, mergeContainsPending, mergeContainsPendingPeriodically } from './contains-merge.ts';

const t = await buildTestApp();
const admin = await t.adminHeaders();

async function createOrganisations(count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const created = await t.app.inject({ method: 'POST', url: '/spine-directory/FHIR/R4/Organization', headers: admin, payload: { resourceType: 'Organization', name: `Pending List Surgery ${index}`, alias: [`Merge Practice ${index}`] } });
    assert.equal(created.statusCode, 201, created.body);
  }
}

test('the service role merges the pending list of names written since, and then finds nothing to merge', async () => {
  await createOrganisations(40);
  const merged = await t.db.begin(async (tx) => {
    await tx`set local role openspine_service`;
    return [await mergeContainsPending(tx), await mergeContainsPending(tx)];
  });
  assert.ok(merged[0] !== undefined && merged[0] > 0, `pages merged: ${merged[0]}`);
  assert.equal(merged[1], 0);
});

test('the periodic merge empties the list while the server runs, and stops', async () => {
  const job = mergeContainsPendingPeriodically(t.db, pino({ level: 'silent' }));
  try {
    await createOrganisations(40);
    await new Promise((resolve) => setTimeout(resolve, CONTAINS_MERGE_INTERVAL_MS * 3));
    assert.equal(await mergeContainsPending(t.db), 0, 'nothing left for anyone else to merge');
  } finally {
    await job.stop();
  }
});
