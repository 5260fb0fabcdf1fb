// Crash safety: after kill -9 in the middle of a stream of creates, every create answered 201 is there, whole, and nothing half-written is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bundle, Organization } from '@medplum/fhirtypes';
import { DIRECTORY_BASE } from '../src/directory/index.ts';
import { connectDatabase, type Database } from '../src/platform/db/connect.ts';
import { ODS_CODE_SYSTEM } from '../src/platform/identifiers/ods-code.ts';
import { killWhileRequestsRun, siteDatabaseUrl, testSite } from './support/server-process.ts';
import { startRequestStream, type Answer, type RequestStream, type StreamOutcome } from './support/request-stream.ts';

const CONCURRENCY = 16;
const ACKNOWLEDGED_BEFORE_CRASH = 400;
const NAME_PREFIX = 'Crash test ';
const REQUEST_TIMEOUT_MS = 15_000;

type Created = { code: string; id: string };

const CRASHES = [
  { name: 'kill -9 of node and of its PostgreSQL: every acknowledged create survives WAL recovery', killDatabase: true },
  { name: 'kill -9 of node alone: the restart stops the PostgreSQL left running, and every acknowledged create is there', killDatabase: false },
];

for (const crash of CRASHES) {
  test(crash.name, { timeout: 55_000 }, async (t) => {
    const { site, start } = await testSite(t);
    const first = await start();

    const stream = startCreateStream(site.baseUrl);
    await stream.acknowledgedAtLeast(ACKNOWLEDGED_BEFORE_CRASH);
    const outcome = await killWhileRequestsRun(first, site, stream, { database: crash.killDatabase });
    // Restarted at once: OpenSpine itself must cope with a postmaster that is dead but not yet reaped.
    assertOnlyTheCrashFailedCreates(outcome);

    await start(); // on the same data folder and ports
    const db = connectDatabase(await siteDatabaseUrl(site), { max: 1, applicationName: 'crash-test' });
    try {
      const stored = await storedCrashOrganisations(db);
      assertAcknowledgedStored(outcome, stored);
      await assertReadableAndSearchable(site.baseUrl, stored);
      assert.deepEqual(await halfWrittenRows(db), [], 'rows of a create without the rest of it');
      const committedInFlight = stored.filter(({ code }) => outcome.unanswered.includes(code)).length;
      t.diagnostic(`acknowledged ${outcome.acknowledged.length}; in flight at the kill ${outcome.unanswered.length}, of which ${committedInFlight} committed`);
    } finally {
      await db.end({ timeout: 5 });
    }
  });
}

/** Creates organisations with unique ODS codes, CONCURRENCY at a time, until stopped. */
function startCreateStream(baseUrl: string): RequestStream<Created> {
  return startRequestStream(CONCURRENCY, (n) => {
    const code = `CR${String(n).padStart(6, '0')}`;
    return { key: code, answer: createOrganisation(baseUrl, code) };
  });
}

async function createOrganisation(baseUrl: string, code: string): Promise<Answer<Created>> {
  const response = await postOrganisation(baseUrl, code);
  const body = await response.text();
  return response.status === 201 ? { acknowledged: { code, id: (JSON.parse(body) as Organization).id ?? '' } } : { refused: `${code}: ${response.status} ${body}` };
}

function postOrganisation(baseUrl: string, code: string): Promise<Response> {
  const organisation: Organization = {
    resourceType: 'Organization',
    name: `${NAME_PREFIX}${code}`,
    identifier: [{ system: ODS_CODE_SYSTEM, value: code }],
  };
  return fetch(`${baseUrl}${DIRECTORY_BASE}/Organization`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(organisation),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

/** Before the kill every create was answered 201; only those in flight at the kill (one per worker at most) went unanswered. */
function assertOnlyTheCrashFailedCreates(outcome: StreamOutcome<Created>): void {
  assert.deepEqual(outcome.refused, [], 'creates answered with something other than 201');
  assert.ok(outcome.acknowledged.length >= ACKNOWLEDGED_BEFORE_CRASH, `only ${outcome.acknowledged.length} creates were acknowledged before the kill`);
  assert.ok(outcome.unanswered.length <= CONCURRENCY, `${outcome.unanswered.length} creates went unanswered, more than were in flight`);
}

/** The organisations the stream created that the database holds after the restart. */
async function storedCrashOrganisations(db: Database): Promise<Created[]> {
  return db<Created[]>`
    select id, content->'identifier'->0->>'value' as code
    from fhir_resource
    where resource_type = 'Organization' and content->>'name' like ${NAME_PREFIX + '%'}`;
}

/** Every acknowledged create is stored under the id it was answered with; nothing stored was never sent, or stored twice. */
function assertAcknowledgedStored(outcome: StreamOutcome<Created>, stored: Created[]): void {
  const storedId = new Map(stored.map(({ code, id }) => [code, id]));
  assert.equal(storedId.size, stored.length, 'an ODS code was stored twice');
  const lost = outcome.acknowledged.filter(({ code, id }) => storedId.get(code) !== id);
  assert.deepEqual(lost, [], 'creates answered 201 that are missing after the restart');
  const sent = new Set([...outcome.acknowledged.map(({ code }) => code), ...outcome.unanswered]);
  assert.deepEqual(stored.filter(({ code }) => !sent.has(code)), [], 'stored organisations that no create sent');
}

/** Through the API: each read answers 200 with the resource as created, and a search by its ODS code finds it alone. */
async function assertReadableAndSearchable(baseUrl: string, created: Created[]): Promise<void> {
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let item = created[next++]; item; item = created[next++]) problems.push(...(await readAndSearch(baseUrl, item)));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  assert.deepEqual(problems, []);
}

async function readAndSearch(baseUrl: string, { code, id }: Created): Promise<string[]> {
  const problems: string[] = [];
  const read = await fetch(`${baseUrl}${DIRECTORY_BASE}/Organization/${id}`);
  const resource = (await read.json()) as Organization;
  if (read.status !== 200 || resource.id !== id || resource.identifier?.[0]?.value !== code || resource.meta?.versionId !== '1') {
    problems.push(`read ${code} (${id}): ${read.status} ${JSON.stringify(resource)}`);
  }
  const search = await fetch(`${baseUrl}${DIRECTORY_BASE}/Organization?identifier=${encodeURIComponent(`${ODS_CODE_SYSTEM}|${code}`)}`);
  const bundle = (await search.json()) as Bundle;
  const found = (bundle.entry ?? []).map((entry) => entry.resource?.id);
  if (search.status !== 200 || found.length !== 1 || found[0] !== id) problems.push(`search ${code}: ${search.status} found ${JSON.stringify(found)}, not ${id}`);
  return problems;
}

type HalfWritten = { problem: string; resource_type: string; id: string };

/**
 * A create writes the current row, the version row and the index rows in one transaction: any of
 * them without the others is a half-written create. Checked over the whole store.
 */
async function halfWrittenRows(db: Database): Promise<HalfWritten[]> {
  const withoutVersion = await db<HalfWritten[]>`
    select 'current row without its version row' as problem, r.resource_type, r.id from fhir_resource r
    where not exists (
      select 1 from fhir_resource_version v
      where v.resource_type = r.resource_type and v.id = r.id and v.version_id = r.version_id and v.content::text = r.content::text)`;
  const withoutCurrent = await db<HalfWritten[]>`
    select 'version row without its current row' as problem, v.resource_type, v.id from fhir_resource_version v
    where not exists (select 1 from fhir_resource r where r.resource_type = v.resource_type and r.id = v.id and r.version_id >= v.version_id)`;
  const orphanIndexRows: HalfWritten[] = [];
  for (const table of ['fhir_token', 'fhir_string', 'fhir_date', 'fhir_reference']) {
    orphanIndexRows.push(...(await db<HalfWritten[]>`
      select ${`${table} row without its resource`} as problem, i.resource_type, i.id from ${db(table)} i
      where not exists (select 1 from fhir_resource r where r.resource_type = i.resource_type and r.id = i.id)`));
  }
  const withoutIndexRows = await db<HalfWritten[]>`
    select 'organisation without its index rows' as problem, r.resource_type, r.id from fhir_resource r
    where r.resource_type = 'Organization' and not r.deleted and (
      exists (
        select 1 from json_array_elements(coalesce(r.content->'identifier', '[]')) identifier
        where not exists (
          select 1 from fhir_token t
          where t.resource_type = r.resource_type and t.id = r.id and t.param = 'identifier'
            and t.system is not distinct from identifier->>'system' and t.code = identifier->>'value'))
      or (r.content->>'name' is not null and not exists (
        select 1 from fhir_string s
        where s.resource_type = r.resource_type and s.id = r.id and s.param = 'name' and s.exact = r.content->>'name')))`;
  return [...withoutVersion, ...withoutCurrent, ...orphanIndexRows, ...withoutIndexRows];
}
