// The `openspine` command against a real database: --help on every command, migrate, seed, token,
// and read-only switched from another process while a server runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { packRecords, unpackRecords } from '../src/audit/packing.ts';
import { buildTestApp } from './support/app.ts';
import { waitFor } from './support/wait.ts';

const run = promisify(execFile);
const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname;
const openspine = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, OPENSPINE_LOG_LEVEL: 'warn' } });

test('every command has --help', async () => {
  for (const command of [[], ['start'], ['migrate'], ['seed'], ['read-only'], ['token'], ['keys', 'rotate'], ['identity', 'list'], ['identity', 'add-person'], ['identity', 'add-role'], ['identity', 'add-app'], ['audit', 'verify'], ['audit', 'head'], ['audit', 'records']]) {
    const { stdout } = await openspine(...command, '--help');
    assert.match(stdout, /^Usage: openspine/m, command.join(' '));
  }
});

test('a bad setting stops the command with a clear message', async () => {
  await assert.rejects(openspine('start', '--port', 'eighty'), (error: { stderr: string }) => /PORT must be a whole number/.test(error.stderr));
  await assert.rejects(openspine('read-only', 'maybe'), (error: { stderr: string }) => /on, off or status/.test(error.stderr));
});

test('read-only on from the command line stops the writes of a running server; off lets them through', async () => {
  const t = await buildTestApp();
  const url = t.databaseUrl;
  const headers = await t.adminHeaders();
  const write = () => t.app.inject({ method: 'POST', url: '/spine-directory/FHIR/R4/Organization', headers, payload: { resourceType: 'Organization', name: 'CLI' } });

  assert.match((await openspine('read-only', 'on', '--database-url', url)).stdout, /Read-only mode is ON/);
  await waitFor(async () => (await write()).statusCode === 503);
  assert.match((await openspine('read-only', 'status', '--database-url', url)).stdout, /ON/);
  assert.match((await openspine('read-only', 'off', '--database-url', url)).stdout, /Read-only mode is OFF/);
  await waitFor(async () => (await write()).statusCode === 201);
});

test('migrate, seed and token work on an external database', async () => {
  const t = await buildTestApp();
  const url = t.databaseUrl;
  assert.match((await openspine('migrate', '--database-url', url)).stdout, /up to date/);
  assert.match((await openspine('seed', '--database-url', url)).stdout, /Demo data is loaded/);
  const token = (await openspine('token', '--admin', '--database-url', url)).stdout.trim();
  const response = await t.app.inject({ method: 'GET', url: '/spine-directory/FHIR/R4/Organization', headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.statusCode, 200);
  const patientToken = (await openspine('token', '--patient', '9000000009', '--database-url', url)).stdout.trim();
  const own = (nhsNumber: string) =>
    t.app.inject({ method: 'GET', url: `/personal-demographics/FHIR/R4/Patient/${nhsNumber}`, headers: { authorization: `Bearer ${patientToken}`, 'x-request-id': '60e0b220-8136-4ac5-9a5c-4a4d8e9c0a7a' } });
  assert.equal((await own('9000000009')).statusCode, 200);
  assert.equal((await own('9000000017')).statusCode, 403);
});

test('identity add-app registers an application from a JWKS file, and identity list shows it; audit verify checks the trail', async () => {
  const t = await buildTestApp();
  const url = t.databaseUrl;
  const { publicKey } = await generateKeyPair('RS512', { extractable: true });
  const folder = await mkdtemp(path.join(tmpdir(), 'openspine-cli-'));
  const jwksFile = path.join(folder, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'cli-key-1' }] }));
  try {
    const added = await openspine('identity', 'add-app', '--id', 'cli-registered-app', '--name', 'CLI app', '--jwks', jwksFile, '--rate-limit', '20', '--database-url', url);
    assert.match(added.stdout, /Application cli-registered-app is registered/);
    // The admin API's rules hold here too (src/identity/applications.ts).
    await assert.rejects(openspine('identity', 'add-app', '--id', 'cis2-userinfo', '--name', 'Lookalike', '--jwks', jwksFile, '--modes', 'healthcare-worker', '--database-url', url), /audience of OpenSpine's own tokens/);
    const privateFile = path.join(folder, 'private.json');
    await writeFile(privateFile, JSON.stringify({ keys: [{ ...(await exportJWK((await generateKeyPair('RS512', { extractable: true })).privateKey)), kid: 'leaked' }] }));
    await assert.rejects(openspine('identity', 'add-app', '--id', 'cli-private-app', '--name', 'Leaky', '--jwks', privateFile, '--database-url', url), /has private parts/);
    assert.match((await openspine('identity', 'add-person', '--user-id', '555000000099', '--name', 'NEW Person Ms', '--database-url', url)).stdout, /Person 555000000099 is saved/);
    assert.match((await openspine('identity', 'add-role', '--role-profile-id', '555000000199', '--user-id', '555000000099', '--org', 'fcg71', '--role-code', 'S8000:G8000:R8003', '--role-name', 'Pharmacist', '--activities', 'B0570,B0572', '--database-url', url)).stdout, /Role profile 555000000199 is saved/);
    await assert.rejects(openspine('identity', 'add-role', '--role-profile-id', '555000000198', '--user-id', '555000000077', '--org', 'FCG71', '--role-code', 'S1:G1:R1', '--role-name', 'x', '--database-url', url), /no person with user id/);
    const listed = await openspine('identity', 'list', '--database-url', url);
    assert.match(listed.stdout, /555000000099 {2}NEW Person Ms\n {4}role profile 555000000199 at FCG71 {2}S8000:G8000:R8003 {2}B0570 B0572/);
    assert.match(listed.stdout, /application cli-registered-app {2}CLI app {2}modes: application-restricted {2}20\/s {2}keys: 1/);
    assert.match(listed.stdout, /555000000001 {2}PATEL Asha Dr\n {4}role profile 555000000101 at A83008/);
    assert.match((await openspine('audit', 'verify', '--database-url', url)).stdout, /The audit trail is intact: \d+ records? checked/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

/** A request whose response waits for its audit record (a failure is held: src/platform/http/audit-hook.ts). */
const AUDITED_REQUEST = { method: 'GET', url: '/spine-directory/FHIR/R4/Organization/00000000-0000-4000-8000-000000000000' } as const;

test('audit verify names a tampered record and exits 1, with verifying threads or without', async () => {
  const t = await buildTestApp();
  await t.app.inject({ ...AUDITED_REQUEST, headers: await t.adminHeaders() });
  await t.app.inject({ ...AUDITED_REQUEST, headers: await t.adminHeaders() });
  await t.db.begin(async (tx) => {
    await tx`alter table audit_block disable trigger audit_block_append_only`;
    const [block] = await tx<{ packed: Buffer }[]>`select packed from audit_block where first_sequence = 1`;
    const records = block ? unpackRecords(block.packed) : undefined;
    assert.ok(records !== undefined && records.includes(',404,'));
    await tx`update audit_block set packed = ${packRecords(records.replace(',404,', ',500,'))} where first_sequence = 1`;
    await tx`alter table audit_block enable trigger audit_block_append_only`;
  });
  for (const threads of ['0', '2']) {
    await assert.rejects(openspine('audit', 'verify', '--database-url', t.databaseUrl, '--threads', threads), (error: { code: number; stdout: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stdout, /record 1: edited/);
      return true;
    });
  }
});

test('audit records prints the trail a record a line, in chain order, from where it is asked to', async () => {
  const t = await buildTestApp();
  const requestIds = [randomUUID(), randomUUID(), randomUUID()];
  for (const requestId of requestIds) await t.app.inject({ ...AUDITED_REQUEST, headers: { ...(await t.adminHeaders()), 'x-request-id': requestId } });
  const { stdout } = await openspine('audit', 'records', '--database-url', t.databaseUrl, '--after', '1', '--limit', '5');
  const printed = stdout.trim().split('\n').map((line) => JSON.parse(line) as { sequence: number; requestId: string; status: number });
  assert.deepEqual(printed.map((record) => [record.sequence, record.requestId, record.status]), [[2, requestIds[1], 404], [3, requestIds[2], 404]]);
});

test('audit head prints an anchor that verify --anchor checks the trail still passes through, and verify --from walks only what came after it', async () => {
  const t = await buildTestApp();
  await t.app.inject({ ...AUDITED_REQUEST, headers: await t.adminHeaders() });
  const anchor = (await openspine('audit', 'head', '--database-url', t.databaseUrl)).stdout.trim();
  assert.match(anchor, /^\d+:[0-9a-f]{64}$/);
  assert.match((await openspine('audit', 'verify', '--database-url', t.databaseUrl, '--anchor', anchor)).stdout, /intact: \d+ records? and 1 anchor checked/);
  // From that anchor, only what came after it: here one more request's record.
  await t.app.inject({ ...AUDITED_REQUEST, headers: await t.adminHeaders() });
  assert.match((await openspine('audit', 'verify', '--database-url', t.databaseUrl, '--from', anchor)).stdout, new RegExp(`intact: 1 record after ${anchor.split(':')[0]} checked`));
  const forged = anchor.replace(/:.*/, `:${'0'.repeat(64)}`);
  await assert.rejects(openspine('audit', 'verify', '--database-url', t.databaseUrl, '--anchor', forged), (error: { code: number; stdout: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stdout, /: rewritten: its hash is not the one published for it/);
    return true;
  });
});
