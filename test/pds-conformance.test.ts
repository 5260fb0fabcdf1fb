// Conformance with the NHS PDS sandbox: its own Postman collection
// (../shared/specs/pds/postman/) run with newman against the real `openspine start` in sandbox mode,
// on a fresh data folder and a free port. Every assertion must pass: the two searches the NHS sandbox
// answers with canned results are answered the same way in sandbox mode (src/pds/sandbox-searches.ts).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runCollection, type AssertionResult } from './support/newman.ts';
import { testSite } from './support/server-process.ts';

const COLLECTION = path.resolve(import.meta.dirname, '../../shared/specs/pds/postman/patient-demographics-sandbox.postman_collection.json');
const ASSERTIONS_IN_COLLECTION = 125;

const describe = (result: AssertionResult) => `${result.request} :: ${result.assertion}${result.failure ? ` (${result.failure})` : ''}`;

test('the NHS PDS sandbox Postman collection passes against openspine start --sandbox', { timeout: 90_000 }, async (t) => {
  const { site, start } = await testSite(t);
  await start();

  const results = await runCollection(COLLECTION, { base_url: `${site.baseUrl}/personal-demographics/FHIR/R4` });
  const failed = results.filter((result) => result.failure !== undefined);
  t.diagnostic(`${results.length - failed.length}/${results.length} assertions passed`);

  assert.equal(results.length, ASSERTIONS_IN_COLLECTION, 'the collection changed: review this test');
  assert.deepEqual(failed.map(describe), [], 'failing assertions');
});
