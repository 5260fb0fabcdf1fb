// The audit trail's promise under kill -9: a patient's data is never sent before its audit record
// is durable (issue 3). While patients are read, the server and its PostgreSQL are killed outright;
// after a restart on the same data, every read answered 200 has its record in the trail, naming
// the patient it showed, and the whole trail, written up to the kill, verifies.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { verifyAuditTrail } from '../src/audit/verify.ts';
import { PDS_BASE } from '../src/pds/index.ts';
import { connectDatabase } from '../src/platform/db/connect.ts';
import { auditRecords } from './support/audit.ts';
import { startRequestStream, type Answer, type StreamOutcome } from './support/request-stream.ts';
import { killWhileRequestsRun, siteDatabaseUrl, testSite } from './support/server-process.ts';

const CONCURRENCY = 16;
const READ_BEFORE_CRASH = 400;
const REQUEST_TIMEOUT_MS = 15_000;
/** Demo patients seeded in sandbox mode (src/pds/demo-patients.ts), read in turn. */
const PATIENTS = ['9000000009', '9000000017', '9000000033'];

type Read = { requestId: string; nhsNumber: string };

test('kill -9 of the server and its PostgreSQL while patients are read: every read answered 200 has its audit record after the restart, and the trail verifies', { timeout: 60_000 }, async (t) => {
  const { site, start } = await testSite(t);
  const first = await start();

  const stream = startRequestStream(CONCURRENCY, (n) => {
    const read = { requestId: randomUUID(), nhsNumber: PATIENTS[n % PATIENTS.length] ?? '' };
    return { key: read.requestId, answer: readPatient(site.baseUrl, read) };
  });
  await stream.acknowledgedAtLeast(READ_BEFORE_CRASH);
  const outcome = await killWhileRequestsRun(first, site, stream);
  assertOnlyTheCrashFailedReads(outcome);

  await start(); // on the same data folder and ports
  const db = connectDatabase(await siteDatabaseUrl(site), { max: 1, applicationName: 'audit-crash-test' });
  try {
    const records = await auditRecords(db);
    const recorded = new Map(records.map((record) => [record.requestId, record]));
    const unrecorded = outcome.acknowledged.filter(({ requestId, nhsNumber }) => {
      const record = recorded.get(requestId);
      return record?.outcome !== 'success' || record.status !== 200 || !record.patientNhsNumbers.includes(nhsNumber);
    });
    assert.deepEqual(unrecorded, [], 'patient reads answered 200 without their audit record after the restart');
    const verification = await verifyAuditTrail(db, { threads: 0 });
    assert.deepEqual(verification.problems, [], 'the trail written up to the kill does not verify');
    assert.equal(verification.checked, records.length);
    const recordedInFlight = outcome.unanswered.filter((requestId) => recorded.has(requestId)).length;
    t.diagnostic(`answered ${outcome.acknowledged.length}; in flight at the kill ${outcome.unanswered.length}, of which ${recordedInFlight} recorded; ${records.length} records verified`);
  } finally {
    await db.end({ timeout: 5 });
  }
});

async function readPatient(baseUrl: string, read: Read): Promise<Answer<Read>> {
  const response = await fetch(`${baseUrl}${PDS_BASE}/Patient/${read.nhsNumber}`, {
    headers: { 'x-request-id': read.requestId },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await response.text();
  if (response.status === 200 && (JSON.parse(body) as Patient).id === read.nhsNumber) return { acknowledged: read };
  return { refused: `${read.nhsNumber} (${read.requestId}): ${response.status} ${body}` };
}

/** Before the kill every read was answered 200; only those in flight at the kill (one per worker at most) went unanswered. */
function assertOnlyTheCrashFailedReads(outcome: StreamOutcome<Read>): void {
  assert.deepEqual(outcome.refused, [], 'reads answered with something other than 200');
  assert.ok(outcome.acknowledged.length >= READ_BEFORE_CRASH, `only ${outcome.acknowledged.length} reads were answered before the kill`);
  assert.ok(outcome.unanswered.length <= CONCURRENCY, `${outcome.unanswered.length} reads went unanswered, more than were in flight`);
}
