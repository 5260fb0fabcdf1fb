// Bulk load and export against the real PostgreSQL: a generated population loads whole and can be
// searched, a bad line or a held NHS number loads nothing, and export then load keeps every record,
// invalidated ones included.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import type { OperationOutcome, Patient } from '@medplum/fhirtypes';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { createTestDatabase } from '../../test/support/database.ts';
import type { Database } from '../platform/db/connect.ts';
import { confidentialityLabel, exportPatients, importPatients, PatientImportError, replacedBy } from './bulk.ts';
import { createPatient } from './create.ts';
import { generatePatients } from './population.ts';
import { PDS_BASE } from './routes.ts';
import { parsePdsSearch, searchPatients } from './search.ts';
import { markInvalidated, readPatient } from './store.ts';

const { db } = await createTestDatabase();
const other = await createTestDatabase();
const empty = await createTestDatabase();
const untouched = await createTestDatabase();

const ndjson = (lines: string[]) => Readable.from([`${lines.join('\n')}\n`]);
/** Each test's patients have NHS numbers of their own, starting at these nine digits. */
const population = (count: number, seed: number, firstNineDigits: number) => Array.from(generatePatients({ count, seed, firstNineDigits }), (patient) => JSON.stringify(patient));
const countPatients = async (database: Database) => Number((await database`select count(*)::integer as count from pds_patient`)[0]?.count);

function collect(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk.toString()), done()) }), text: () => chunks.join('') };
}

test('a generated population loads whole, verified; a generated patient is found by the trace; restricted ones keep their flag', async () => {
  const lines = population(3000, 11, 910_000_000);
  const before = await countPatients(db);
  const progress: number[] = [];
  const summary = await importPatients(db, ndjson(lines), { onProgress: (report) => { progress.push(report.records); } });
  assert.equal(summary.records, 3000);
  assert.equal(await countPatients(db), before + 3000);
  assert.equal(progress.at(-1), 3000);

  const patient = JSON.parse(lines[1234] ?? '') as { id: string; name: { family: string; given: string[] }[]; birthDate: string };
  const outcome = await searchPatients(db, parsePdsSearch({ family: patient.name[0]?.family ?? '', given: patient.name[0]?.given[0] ?? '', birthdate: `eq${patient.birthDate}`, '_max-results': '50' }, false));
  assert.equal(outcome.kind, 'matches');
  assert.ok(outcome.kind === 'matches' && outcome.matches.some((match) => match.row.nhsNumber === patient.id), 'the trace finds the loaded patient');

  const restrictedLine = lines.find((line) => line.includes('"code":"R"'));
  assert.ok(restrictedLine, 'the population has a restricted patient');
  assert.equal((await readPatient(db, (JSON.parse(restrictedLine) as { id: string }).id))?.restricted, true);
  const stored = await readPatient(db, patient.id);
  assert.equal(stored?.versionId, 1);
  assert.ok(stored && !('meta' in (JSON.parse(stored.record) as object)), 'stored without meta, as PDS stores records');
});

test('a corrupt line fails the load with its line number and loads nothing', async () => {
  const lines = population(500, 12, 920_000_000);
  const before = await countPatients(db);
  const cases: [edit: (lines: string[]) => void, line: number, message: RegExp][] = [
    [(copy) => (copy[299] = `${copy[299]?.slice(0, 40) ?? ''}`), 300, /not valid JSON/],
    [(copy) => (copy[410] = '{"resourceType":"Observation"}'), 411, /not a FHIR Patient/],
    [(copy) => (copy[77] = (copy[77] ?? '').replaceAll(/"(\d{9})\d"/g, (_match, first: string) => `"${first}${(Number(first.at(-1)) + 1) % 10}"`)), 78, /not a valid NHS number/],
    [(copy) => (copy[5] = (copy[5] ?? '').replace(/"birthDate":"(\d{4})-\d\d-\d\d"/, '"birthDate":"$1"')), 6, /not a full date/],
    [(copy) => (copy[8] = (copy[8] ?? '').replace('"resourceType":"Patient",', '"resourceType":"Patient","meta":{"lastUpdated":"yesterday"},')), 9, /meta.lastUpdated 'yesterday' is not an instant/],
  ];
  for (const [edit, line, message] of cases) {
    const copy = [...lines];
    edit(copy);
    await assert.rejects(importPatients(db, ndjson(copy)), (error: unknown) => error instanceof PatientImportError && error.line === line && message.test(error.message));
    assert.equal(await countPatients(db), before, 'nothing was loaded');
  }
  assert.equal((await importPatients(db, ndjson(lines))).records, 500, 'a fixed file loads after a failure');
});

test('NHS numbers already held, or given twice, refuse the whole load', async () => {
  const lines = population(200, 13, 930_000_000);
  await importPatients(db, ndjson(lines.slice(0, 10)));
  const before = await countPatients(db);
  await assert.rejects(importPatients(db, ndjson(lines)), /already held by PDS: 930\d+ \(line 1\)/);
  await assert.rejects(importPatients(db, ndjson([...lines.slice(10), lines[50] ?? ''])), /more than once in the file/);
  assert.equal(await countPatients(db), before);
});

test('export then load elsewhere keeps every record: same count and checksum, and the same records', async () => {
  const exported = collect();
  const summary = await exportPatients(db, exported.stream);
  assert.equal(summary.records, await countPatients(db));
  assert.match(exported.text(), /"type":"replaced-by"/, 'merged records are exported too');
  const reloaded = await importPatients(other.db, Readable.from([exported.text()]));
  assert.deepEqual(reloaded, summary);
  const again = collect();
  await exportPatients(other.db, again.stream);
  const withoutLastUpdated = (text: string) => text.replaceAll(/"lastUpdated":"[^"]+"/g, '');
  assert.equal(withoutLastUpdated(again.text()), withoutLastUpdated(exported.text()));
});

test('a load into an empty table rebuilds the indexes it dropped: the same indexes after, and the trace still finds patients', async () => {
  // Its indexes, and the constraints on it and pointing at it (primary and foreign keys).
  const indexes = async () => [
    ...(await empty.db`select indexdef from pg_indexes where tablename = 'pds_patient' order by indexname`).map((row) => String(row.indexdef)),
    ...(await empty.db`select conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) as key from pg_constraint
      where conrelid = 'pds_patient'::regclass or confrelid = 'pds_patient'::regclass order by 1`).map((row) => String(row.key)),
  ];
  const before = await indexes();
  const lines = population(1000, 14, 940_000_000);
  const phases = new Set<string>();
  await importPatients(empty.db, ndjson(lines), { onProgress: (report) => { phases.add(report.phase); } });
  assert.ok(phases.has('indexing'));
  assert.deepEqual(await indexes(), before);
  const patient = JSON.parse(lines[999] ?? '') as { id: string; name: { family: string }[]; birthDate: string };
  const outcome = await searchPatients(empty.db, parsePdsSearch({ family: patient.name[0]?.family ?? '', birthdate: `eq${patient.birthDate}`, '_max-results': '50' }, false));
  assert.ok(outcome.kind === 'matches' && outcome.matches.some((match) => match.row.nhsNumber === patient.id));
});

test('into an empty table too, a number given twice, a missing survivor or a bad line loads nothing and leaves every index', async () => {
  const indexes = async () => (await untouched.db`select indexname from pg_indexes where tablename = 'pds_patient' order by indexname`).map((row) => String(row.indexname));
  const before = await indexes();
  const lines = population(300, 19, 947_000_000);
  const orphan = JSON.stringify({ ...(JSON.parse(lines[7] ?? '') as Patient), link: [replacedBy('9111231130')] });
  await assert.rejects(importPatients(untouched.db, ndjson([...lines, lines[42] ?? ''])), /more than once in the file/);
  await assert.rejects(importPatients(untouched.db, ndjson([...lines.slice(0, 7), orphan])), /survivor PDS does not hold: \d+ replaced by 9111231130/);
  await assert.rejects(importPatients(untouched.db, ndjson([...lines.slice(0, 9), '{'])), (error: unknown) => error instanceof PatientImportError && error.line === 10);
  assert.equal(await countPatients(untouched.db), 0);
  assert.deepEqual(await indexes(), before);
  assert.equal((await importPatients(untouched.db, ndjson(lines))).records, 300);
});

test('a load into a table that holds records keeps its indexes and takes no lock that stops reads or searches', async () => {
  const held = population(1, 15, 945_000_000)[0] ?? '';
  await importPatients(db, ndjson([held]));
  const heldPatient = JSON.parse(held) as { id: string; name: { family: string }[]; birthDate: string };
  const phases = new Set<string>();
  let locks: string[] = [];
  let readDuringLoad: string | undefined;
  await importPatients(db, ndjson(population(2000, 16, 946_000_000)), {
    onProgress: async (report) => {
      phases.add(report.phase);
      if (report.phase !== 'verifying') return;
      // The rows are in, the transaction still open: what it holds on the table and its indexes.
      locks = (await db<{ mode: string }[]>`select distinct mode from pg_locks join pg_class on pg_class.oid = pg_locks.relation
        where pg_locks.pid <> pg_backend_pid() and pg_locks.granted
          and (relname = 'pds_patient' or pg_class.oid in (select indexrelid from pg_index where indrelid = 'pds_patient'::regclass)) order by mode`).map((row) => row.mode);
      await db.begin(async (reader) => {
        await reader`set local lock_timeout = '2s'`;
        readDuringLoad = (await readPatient(reader, heldPatient.id))?.nhsNumber;
        const outcome = await searchPatients(reader, parsePdsSearch({ family: heldPatient.name[0]?.family ?? '', birthdate: `eq${heldPatient.birthDate}` }, false));
        assert.ok(outcome.kind === 'matches' && outcome.matches.some((match) => match.row.nhsNumber === heldPatient.id), 'a search answered during the load');
      });
    },
  });
  assert.equal(phases.has('indexing'), false, 'no index was dropped');
  assert.ok(locks.includes('RowExclusiveLock'), 'the rows went in while the reads ran');
  assert.deepEqual(locks.filter((mode) => mode !== 'AccessShareLock' && mode !== 'RowExclusiveLock'), [], `only locks that let reads and writes of other rows go on: ${locks.join(', ')}`);
  assert.equal(readDuringLoad, heldPatient.id, 'a read answered during the load');
});

test('asked to lock the table, a load into one that holds records builds its secondary indexes again, the same as before', async () => {
  const indexes = async () => (await db`select indexdef from pg_indexes where tablename = 'pds_patient' order by indexname`).map((row) => String(row.indexdef));
  const before = await indexes();
  const count = await countPatients(db);
  const phases = new Set<string>();
  await importPatients(db, ndjson(population(500, 20, 948_000_000)), { lockTable: true, onProgress: (report) => { phases.add(report.phase); } });
  assert.ok(phases.has('indexing'));
  assert.deepEqual(await indexes(), before);
  assert.equal(await countPatients(db), count + 500);
});

test('merged records load as superseded, pointing to their survivor; export writes them with the replaced-by link they came with', async () => {
  const lines = population(6000, 17, 950_000_000);
  const merged = lines.map((line) => JSON.parse(line) as Patient).filter((patient) => patient.link?.some((link) => link.type === 'replaced-by'));
  assert.ok(merged.length >= 2, `${merged.length} merged records in 6,000`);
  await importPatients(db, ndjson(lines));
  for (const patient of merged) {
    const row = await readPatient(db, patient.id ?? '');
    assert.equal(row?.supersededBy, patient.link?.[0]?.other?.identifier?.value);
    assert.ok(row && !row.record.includes('replaced-by'), 'the merge is kept as superseded_by, not in the record');
  }
  const exported = collect();
  await exportPatients(db, exported.stream);
  const line = exported.text().split('\n').find((text) => text.includes(`"id":"${merged[0]?.id ?? ''}"`)) ?? '';
  assert.deepEqual((JSON.parse(line) as Patient).link, merged[0]?.link);
});

test('a merged record whose survivor is neither held nor in the file refuses the load', async () => {
  const lines = population(20, 18, 955_000_000);
  const orphan = { ...(JSON.parse(lines[5] ?? '') as Patient), link: [replacedBy('9111231130')] };
  const before = await countPatients(db);
  await assert.rejects(importPatients(db, ndjson([...lines.slice(0, 5), JSON.stringify(orphan)])), /survivor PDS does not hold: \d+ \(line 6\) replaced by 9111231130/);
  const self = { ...orphan, link: [replacedBy(orphan.id ?? '')] };
  await assert.rejects(importPatients(db, ndjson([JSON.stringify(self)])), /line 1: a record cannot be replaced by itself/);
  assert.equal(await countPatients(db), before);
});

test('invalidated records are exported and load back invalidated: a read answers INVALIDATED_RESOURCE, searches miss them, their NHS numbers are never allocated again', async () => {
  const [source, fresh] = [await createTestDatabase(), await createTestDatabase()];
  const patients = population(20, 21, 960_000_000).map((line) => JSON.parse(line) as Patient);
  const [plain = '', restricted = '', merged = '', survivor = '', control = ''] = patients.map((patient) => patient.id ?? '');
  // One invalidated record as it is, one restricted and one merged too: each flag travels beside the others.
  const edited = patients.map((patient, index) => (index === 1 ? { ...patient, meta: { security: [confidentialityLabel(true)] } } : index === 2 ? { ...patient, link: [replacedBy(survivor)] } : patient));
  await importPatients(source.db, ndjson(edited.map((patient) => JSON.stringify(patient))));
  for (const nhsNumber of [plain, restricted, merged]) await markInvalidated(source.db, nhsNumber);

  const exported = collect();
  const summary = await exportPatients(source.db, exported.stream);
  assert.equal(summary.records, 20, 'the invalidated records are exported too');
  assert.equal(exported.text().split('\n').filter((line) => line.includes('"code":"REDACTED"')).length, 3);
  // Into an empty database: the load COPYs straight into the table.
  assert.deepEqual(await importPatients(fresh.db, Readable.from([exported.text()])), summary, 'the same count and checksum');
  const flags = async (nhsNumber: string) => {
    const row = await readPatient(fresh.db, nhsNumber);
    return row && { invalidated: row.invalidated, restricted: row.restricted, supersededBy: row.supersededBy };
  };
  assert.deepEqual(await flags(plain), { invalidated: true, restricted: false, supersededBy: null });
  assert.deepEqual(await flags(restricted), { invalidated: true, restricted: true, supersededBy: null });
  assert.deepEqual(await flags(merged), { invalidated: true, restricted: false, supersededBy: survivor });
  assert.deepEqual(await flags(control), { invalidated: false, restricted: false, supersededBy: null });
  const again = collect();
  await exportPatients(fresh.db, again.stream);
  assert.equal(again.text(), exported.text(), 'export, import and export again gives the same file');

  const finds = async (nhsNumber: string) => {
    const patient = patients.find((candidate) => candidate.id === nhsNumber);
    const outcome = await searchPatients(fresh.db, parsePdsSearch({ family: patient?.name?.[0]?.family ?? '', birthdate: `eq${patient?.birthDate ?? ''}` }, false));
    return outcome.kind === 'matches' && outcome.matches.some((match) => match.row.nhsNumber === nhsNumber);
  };
  assert.equal(await finds(control), true, 'the trace finds a record that is not invalidated');
  assert.equal(await finds(plain), false, 'nor an invalidated one');

  // Allocation takes the first free number of those offered: the invalidated ones are held.
  const free = (JSON.parse(population(1, 22, 961_000_000)[0] ?? '') as Patient).id ?? '';
  const newcomer = { name: [{ family: 'Newcomer', given: ['Ada'] }], gender: 'female', birthDate: '2001-02-03', address: [{ line: ['3 New Street'], postalCode: 'LS2 7AA' }] };
  assert.equal((await createPatient(fresh.db, newcomer, [plain, restricted, merged, free])).nhsNumber, free);

  // Loaded beside the records of a running PDS, a read of an invalidated NHS number answers INVALIDATED_RESOURCE.
  const t = await buildTestApp();
  await importPatients(t.db, Readable.from([again.text()]));
  const token = await t.token({ actor: { mode: 'healthcare-worker', userId: '555000000001', roleProfileId: '555000000101', activityCodes: [] } });
  for (const nhsNumber of [plain, restricted]) {
    const read = await t.app.inject({ method: 'GET', url: `${PDS_BASE}/Patient/${nhsNumber}`, headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID() } });
    assert.equal(read.statusCode, 404);
    assert.equal(read.json<OperationOutcome>().issue[0]?.details?.coding?.[0]?.code, 'INVALIDATED_RESOURCE');
  }
});
