// Bulk load and export against the real PostgreSQL: a generated population loads whole and can be
// searched, a bad line or a held NHS number loads nothing, and export then load keeps every record.
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import type { Database } from '../platform/db/connect.ts';
import { exportPatients, importPatients, PatientImportError } from './bulk.ts';
import { generatePatients } from './population.ts';
import { parsePdsSearch, searchPatients } from './search.ts';
import { readPatient } from './store.ts';

const { db } = await createTestDatabase();
const other = await createTestDatabase();

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
  const summary = await importPatients(db, ndjson(lines), { onProgress: (report) => progress.push(report.records) });
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
  const reloaded = await importPatients(other.db, Readable.from([exported.text()]));
  assert.deepEqual(reloaded, summary);
  const again = collect();
  await exportPatients(other.db, again.stream);
  const withoutLastUpdated = (text: string) => text.replaceAll(/"lastUpdated":"[^"]+"/g, '');
  assert.equal(withoutLastUpdated(again.text()), withoutLastUpdated(exported.text()));
});

test('a large load rebuilds the indexes it dropped: the same indexes after, and the trace still finds patients', async () => {
  const indexes = async () => (await db`select indexdef from pg_indexes where tablename = 'pds_patient' order by indexname`).map((row) => String(row.indexdef));
  const before = await indexes();
  const lines = population(1000, 14, 940_000_000);
  const phases = new Set<string>();
  await importPatients(db, ndjson(lines), { rebuildIndexesFrom: 1, onProgress: (report) => phases.add(report.phase) });
  assert.ok(phases.has('indexing'));
  assert.deepEqual(await indexes(), before);
  const patient = JSON.parse(lines[999] ?? '') as { id: string; name: { family: string }[]; birthDate: string };
  const outcome = await searchPatients(db, parsePdsSearch({ family: patient.name[0]?.family ?? '', birthdate: `eq${patient.birthDate}`, '_max-results': '50' }, false));
  assert.ok(outcome.kind === 'matches' && outcome.matches.some((match) => match.row.nhsNumber === patient.id));
});
