// `openspine population --practices-from-directory` against a real database, run as a person would
// run it: patients registered over the directory's GP practices, and a clear refusal when it has none.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Organization, Patient } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { createTestDatabase } from '../../test/support/database.ts';
import { DIRECTORY_BASE } from '../directory/index.ts';
import { ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';

const run = promisify(execFile);
const CLI = new URL('./main.ts', import.meta.url).pathname;
const openspine = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, OPENSPINE_LOG_LEVEL: 'warn' }, maxBuffer: 64 * 1024 * 1024 });
const odsCode = () => `Y${String(randomBytes(3).readUIntBE(0, 3) % 100_000).padStart(5, '0')}`;

function organisation(ods: string, role: { code: string; display: string }, active = true): Organization {
  return {
    resourceType: 'Organization',
    identifier: [{ system: ODS_CODE_SYSTEM, value: ods }],
    active,
    type: [{ coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/organisation-role', ...role }] }],
    name: `Test ${role.display} ${ods}`,
  };
}

test("population --practices-from-directory registers patients over the directory's active GP practices, and no other organisation", async () => {
  const t = await buildTestApp();
  const [practice, closed, pharmacy] = [odsCode(), odsCode(), odsCode()];
  const headers = await t.adminHeaders();
  for (const resource of [
    organisation(practice, { code: '76', display: 'GP PRACTICE' }),
    organisation(closed, { code: '76', display: 'GP PRACTICE' }, false),
    organisation(pharmacy, { code: '82', display: 'PHARMACY' }),
  ]) {
    const response = await t.app.inject({ method: 'POST', url: `${DIRECTORY_BASE}/Organization`, headers, payload: resource });
    assert.equal(response.statusCode, 201, response.body);
  }

  const population = async () => (await openspine('population', '--patients', '400', '--seed', '5', '--practices-from-directory', '--database-url', t.databaseUrl)).stdout;
  const ndjson = await population();
  const patients = ndjson.trim().split('\n').map((line) => JSON.parse(line) as Patient);
  assert.equal(patients.length, 400);
  const registered = new Set(patients.map((patient) => patient.generalPractitioner?.[0]?.identifier?.value));
  assert.deepEqual([...registered].sort(), ['A83008', practice].sort(), 'the seeded demo practice and the one added; not the closed one, not the pharmacy');
  assert.equal(await population(), ndjson, 'the same seed and the same directory give the same patients');
});

test('population --practices-from-directory refuses clearly when the directory holds no GP practice, and with --practices', async () => {
  const { url } = await createTestDatabase();
  await assert.rejects(openspine('population', '--patients', '10', '--practices-from-directory', '--database-url', url), (error: { code: number; stdout: string; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.equal(error.stdout, '', 'no patients written');
    assert.match(error.stderr, /the directory holds no GP practice/);
    return true;
  });
  await assert.rejects(openspine('population', '--patients', '10', '--practices', 'A83008', '--practices-from-directory', '--database-url', url), (error: { stderr: string }) =>
    /cannot be used with option '--practices/.test(error.stderr),
  );
});
