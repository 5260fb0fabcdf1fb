// The auditors' AuditEvent API over HTTP: search by patient, user, organisation and date, newest
// first and paged; the read; who may use it; and that using it is itself in the trail.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { createTestDatabase } from '../../test/support/database.ts';
import type { AuditEntry } from '../platform/audit.ts';
import { loadConfig } from '../platform/config.ts';
import type { Actor } from '../platform/context.ts';
import { Errors } from '../platform/errors.ts';
import { SEARCH_LIMITS } from '../platform/fhir/search-query.ts';
import { AUDIT_SCOPE, type TokenGrant } from '../platform/http/access.ts';
import { buildApp } from '../platform/http/app.ts';
import { randomNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { auditEntry } from './fixtures.ts';
import { AUDIT_BASE, auditService, createAuditTrail } from './index.ts';

const { db } = await createTestDatabase();
/** What the app logs at error level (and above), to check what must be logged is. */
const errorLogs: { msg: string; reqId?: string; unreadableBlocks?: unknown }[] = [];
const log = pino({ level: 'error' }, { write: (line: string) => void errorLogs.push(JSON.parse(line) as (typeof errorLogs)[number]) });
const trail = createAuditTrail(db, log);

// Tokens are opaque here: this file tests the audit routes, not how tokens are verified.
const grants = new Map<string, TokenGrant>();
function tokenFor(actor: Actor, scopes: string[] = [AUDIT_SCOPE]): Record<string, string> {
  const token = randomBytes(16).toString('hex');
  grants.set(token, { actor, scopes });
  return { authorization: `Bearer ${token}` };
}

const app = await buildApp({
  config: loadConfig({ publicBaseUrl: 'http://openspine.test' }, {}),
  db,
  log,
  authenticate: async (token) => {
    const grant = grants.get(token);
    if (!grant) throw Errors.unauthenticated('Invalid access token');
    return grant;
  },
  audit: trail,
  readOnly: { isOn: () => false, close: async () => undefined },
  services: [auditService],
});
after(async () => {
  await app.close();
  await trail.close();
});

const twelveDigits = () => String(100_000_000_000 + Math.floor(Math.random() * 899_999_999_999));
const [firstPatient, secondPatient] = [randomNhsNumber('999'), randomNhsNumber('999')];
const [clinician, otherClinician, auditorId] = [twelveDigits(), twelveDigits(), twelveDigits()];
const [practice, otherPractice] = ['Y' + String(Date.now()).slice(-5), 'Z' + String(Date.now()).slice(-5)];
const staff = (userId: string, organisationOds: string): Actor => ({ mode: 'healthcare-worker', userId, roleProfileId: twelveDigits(), organisationOds, activityCodes: ['B0264'] });

/** Four records of March 2021, one a day, recorded as the platform would. */
const history: AuditEntry[] = [
  auditEntry({ requestId: 'march-1', occurredAt: new Date('2021-03-01T10:00:00Z'), actor: staff(clinician, practice), patientNhsNumbers: [firstPatient] }),
  auditEntry({ requestId: 'march-2', occurredAt: new Date('2021-03-02T10:00:00Z'), actor: staff(otherClinician, otherPractice), patientNhsNumbers: [firstPatient] }),
  auditEntry({ requestId: 'march-3', occurredAt: new Date('2021-03-03T10:00:00Z'), actor: staff(clinician, practice), patientNhsNumbers: [secondPatient] }),
  auditEntry({
    requestId: 'march-4',
    correlationId: 'correlation-4',
    occurredAt: new Date('2021-03-04T10:00:00Z'),
    actor: staff(clinician, practice),
    interaction: 'search-type',
    outcome: 'denied',
    status: 403,
    patientNhsNumbers: [firstPatient, secondPatient],
    resourceIds: [],
    detail: 'ACCESS_DENIED: Access denied',
  }),
];
for (const entry of history) await trail.record(entry);

const auditor = tokenFor(staff(auditorId, 'X26'));

async function search(query: string, headers = auditor): Promise<{ status: number; bundle: Bundle<AuditEvent>; body: string }> {
  const response = await app.inject({ method: 'GET', url: `${AUDIT_BASE}/AuditEvent?${query}`, headers });
  return { status: response.statusCode, bundle: response.json<Bundle<AuditEvent>>(), body: response.body };
}

const linkOf = (bundle: Bundle, relation: string) => bundle.link?.find((link) => link.relation === relation)?.url;

/** Every page of a search, from the first, following next links to the end. */
async function allPages(query: string): Promise<Bundle<AuditEvent>[]> {
  const pages: Bundle<AuditEvent>[] = [];
  for (let next: string | undefined = query; next !== undefined; ) {
    const page = await search(next);
    assert.equal(page.status, 200, page.body);
    pages.push(page.bundle);
    const url = linkOf(page.bundle, 'next');
    next = url === undefined ? undefined : new URL(url).search.slice(1);
  }
  return pages;
}

const requestIdOf = (event: AuditEvent | undefined) => event?.entity?.at(-1)?.detail?.find((detail) => detail.type === 'X-Request-ID')?.valueString;
/** The request ids of the records of March 2021, leaving out the records of this file's own searches. */
const requestIds = (bundle: Bundle<AuditEvent>) =>
  (bundle.entry ?? []).filter((entry) => entry.resource?.source.site !== 'audit').map((entry) => requestIdOf(entry.resource));

test('search by patient, user, organisation and date finds the right records, newest first', async () => {
  const cases: [string, string[]][] = [
    [`patient=${firstPatient}`, ['march-4', 'march-2', 'march-1']],
    [`patient=https://fhir.nhs.uk/Id/nhs-number|${secondPatient}`, ['march-4', 'march-3']],
    [`user=${clinician}`, ['march-4', 'march-3', 'march-1']],
    [`user=https://fhir.nhs.uk/Id/sds-user-id|${otherClinician}`, ['march-2']],
    [`organisation=${otherPractice}`, ['march-2']],
    [`organisation=${practice},${otherPractice}`, ['march-4', 'march-3', 'march-2', 'march-1']],
    ['date=ge2021-03-02&date=le2021-03-03', ['march-3', 'march-2']],
    ['date=2021-03-04', ['march-4']],
    [`user=${clinician}&date=lt2021-03-03`, ['march-1']],
    [`patient=${secondPatient}&organisation=${otherPractice}`, []],
  ];
  for (const [query, expected] of cases) {
    const { status, bundle } = await search(query);
    assert.equal(status, 200, query);
    assert.equal(bundle.type, 'searchset');
    assert.deepEqual(requestIds(bundle), expected, query);
  }
});

test("a date without a time zone is a day of England's clocks: in summer it starts at 23:00 UTC the day before", async () => {
  const patient = randomNhsNumber('999');
  // 00:30 on 2 July 2021 in London (BST), 23:30 on 1 July in UTC.
  await trail.record(auditEntry({ requestId: 'london-july-2', occurredAt: new Date('2021-07-01T23:30:00Z'), actor: staff(clinician, practice), patientNhsNumbers: [patient] }));
  assert.deepEqual(requestIds((await search(`patient=${patient}&date=2021-07-02`)).bundle), ['london-july-2']);
  assert.deepEqual(requestIds((await search(`patient=${patient}&date=2021-07-01`)).bundle), []);
  assert.deepEqual(requestIds((await search(`patient=${patient}&date=2021-07-01T23:30:00Z`)).bundle), ['london-july-2'], 'a time zone given is kept');
});

test('results are paged with _count and _offset: the next link goes on below the last record shown, and a page asked for by _offset links to the one before', async () => {
  const first = await search(`patient=${firstPatient}&date=lt2022&_count=2`);
  assert.deepEqual(requestIds(first.bundle), ['march-4', 'march-2']);
  const next = new URL(linkOf(first.bundle, 'next') ?? '');
  assert.equal(`${next.origin}${next.pathname}`, `http://openspine.test${AUDIT_BASE}/AuditEvent`);
  const lastShown = Number(first.bundle.entry?.at(-1)?.resource?.id);
  assert.deepEqual(Object.fromEntries(next.searchParams), { patient: firstPatient, date: 'lt2022', _count: '2', _through: String(lastShown - 1) });
  assert.equal(linkOf(first.bundle, 'previous'), undefined);
  const second = await search(next.search.slice(1));
  assert.deepEqual(requestIds(second.bundle), ['march-1']);
  assert.equal(linkOf(second.bundle, 'next'), undefined);
  assert.equal(linkOf(second.bundle, 'previous'), undefined, 'a page reached by its key has no offset to step back from');

  const through = new URL(linkOf(first.bundle, 'self') ?? '').searchParams.get('_through');
  const byOffset = await search(`patient=${firstPatient}&date=lt2022&_count=2&_offset=1&_through=${through}`);
  assert.deepEqual(requestIds(byOffset.bundle), ['march-2', 'march-1']);
  const previous = new URL(linkOf(byOffset.bundle, 'previous') ?? '');
  assert.deepEqual(Object.fromEntries(previous.searchParams), { patient: firstPatient, date: 'lt2022', _count: '2', _through: through });
  assert.deepEqual(requestIds((await search(previous.search.slice(1))).bundle), ['march-4', 'march-2']);
});

test('following next links reads every record of a patient once, however many: paging has no depth limit', async () => {
  // More records than the deepest _offset (SEARCH_LIMITS.maxOffset) and a page past it.
  const patient = randomNhsNumber('999');
  const written = Array.from({ length: SEARCH_LIMITS.maxOffset + SEARCH_LIMITS.maxCount + 1 }, (_, index) => `deep-${index}`);
  await Promise.all(written.map((requestId) => trail.record(auditEntry({ requestId, patientNhsNumbers: [patient] }))));
  const seen = (await allPages(`patient=${patient}&_count=${SEARCH_LIMITS.maxCount}`)).flatMap(requestIds);
  assert.equal(seen.length, written.length);
  assert.deepEqual(seen, written.toReversed(), 'each record once, newest first');
});

test('the pages of a search read the trail as its first page did: records appended since, its own audit record among them, neither repeat nor shift a record', async () => {
  // Each search of a patient is audited as a new record naming them: the newest match of the next search.
  const pages = await allPages(`patient=${secondPatient}&_count=2`);
  const seen = pages.flatMap((page) => (page.entry ?? []).map((entry) => Number(entry.resource?.id)));
  const newestAtFirst = seen[0] ?? 0;
  assert.equal(new Set(seen).size, seen.length, `a record shown twice: ${seen.join(', ')}`);
  assert.ok(seen.every((sequence) => sequence <= newestAtFirst), 'a later page shows a record newer than the first page saw');
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
});

test('a block that cannot be read is left out of an answer that says so, with a warning outcome, and logged as an error; a read of its records says it is damaged', async () => {
  // Three appends of a patient's records of June 2020 (out of the other tests' searches): three blocks.
  const patient = randomNhsNumber('999');
  for (const batch of [['june-1', 'june-2'], ['june-3', 'june-4'], ['june-5', 'june-6']]) {
    await Promise.all(batch.map((requestId) => trail.record(auditEntry({ requestId, occurredAt: new Date('2020-06-01T10:00:00Z'), patientNhsNumbers: [patient] }))));
  }
  const blocks = await db<{ first: number; last: number }[]>`
    select first_sequence::int as first, last_sequence::int as last from audit_block where patients @> ${[patient]}::text[] order by first_sequence`;
  assert.equal(blocks.length, 3);
  const damaged = blocks[1];
  assert.ok(damaged);
  // Someone able to switch the trail's guard off writes over the middle block.
  await db.begin(async (tx) => {
    await tx`alter table audit_block disable trigger user`;
    await tx`update audit_block set packed = ${Buffer.from('not compressed at all')} where first_sequence = ${damaged.first}`;
    await tx`alter table audit_block enable trigger user`;
  });

  const requestId = randomUUID();
  const response = await app.inject({ method: 'GET', url: `${AUDIT_BASE}/AuditEvent?patient=${patient}`, headers: { ...auditor, 'x-request-id': requestId } });
  assert.equal(response.statusCode, 200, response.body);
  const entries = response.json<Bundle>().entry ?? [];
  const matches = entries.filter((entry) => entry.search?.mode === 'match').map((entry) => requestIdOf(entry.resource as AuditEvent));
  assert.deepEqual(matches, ['june-6', 'june-5', 'june-2', 'june-1']);
  const outcomes = entries.filter((entry) => entry.search?.mode === 'outcome').map((entry) => entry.resource);
  assert.equal(outcomes.length, 1);
  const [issue] = outcomes[0]?.resourceType === 'OperationOutcome' ? outcomes[0].issue : [];
  assert.equal(issue?.severity, 'warning');
  assert.equal(issue?.code, 'incomplete');
  assert.match(issue?.diagnostics ?? '', new RegExp(`records ${damaged.first} to ${damaged.last} cannot be read.*openspine audit verify`));
  const logged = errorLogs.find((line) => line.reqId === requestId);
  assert.match(logged?.msg ?? '', /cannot read/);
  assert.deepEqual(logged?.unreadableBlocks, [damaged]);
  const read = await app.inject({ method: 'GET', url: `${AUDIT_BASE}/AuditEvent/${damaged.first}`, headers: auditor });
  assert.equal(read.statusCode, 500, 'a record of a damaged block is not said to be missing (404)');
  assert.match(read.body, new RegExp(`the block of records ${damaged.first} to ${damaged.last} cannot be read`));
});

test('a record reads as an AuditEvent: who, what, when, outcome, request and place in the chain', async () => {
  const { bundle } = await search('date=2021-03-04');
  const event = bundle.entry?.[0]?.resource;
  assert.ok(event?.id);
  const read = await app.inject({ method: 'GET', url: `${AUDIT_BASE}/AuditEvent/${event.id}`, headers: auditor });
  assert.equal(read.statusCode, 200);
  assert.equal(read.headers['content-type'], 'application/fhir+json; charset=utf-8');
  const fetched = read.json<AuditEvent>();
  assert.deepEqual(fetched, event);
  assert.equal(fetched.type.code, 'rest');
  assert.deepEqual(fetched.subtype, [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' }]);
  assert.equal(fetched.action, 'R');
  assert.equal(fetched.recorded, '2021-03-04T10:00:00.000Z');
  assert.equal(fetched.outcome, '4');
  assert.equal(fetched.outcomeDesc, 'ACCESS_DENIED: Access denied');
  assert.deepEqual(fetched.agent[0]?.who, { identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: clinician } });
  assert.equal(fetched.agent[0]?.requestor, true);
  assert.equal(fetched.agent[0]?.role?.[0]?.coding?.[0]?.system, 'https://fhir.nhs.uk/Id/sds-role-profile-id');
  assert.deepEqual(fetched.agent[1]?.who, { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: practice } });
  assert.equal(fetched.source.site, 'personal-demographics');
  const patients = fetched.entity?.filter((entity) => entity.role?.code === '1').map((entity) => entity.what?.identifier?.value);
  assert.deepEqual(patients, [firstPatient, secondPatient]);
  const detail = Object.fromEntries(fetched.entity?.at(-1)?.detail?.map((item) => [item.type, item.valueString]) ?? []);
  assert.equal(detail['X-Request-ID'], 'march-4');
  assert.equal(detail['X-Correlation-ID'], 'correlation-4');
  assert.equal(detail['sequence'], event.id);
  assert.match(detail['hash'] ?? '', /^[0-9a-f]{64}$/);
});

test('a read of a record that is not there is 404; a malformed id is 400', async () => {
  const missing = await app.inject({ method: 'GET', url: `${AUDIT_BASE}/AuditEvent/999999999`, headers: auditor });
  assert.equal(missing.statusCode, 404);
  assert.match(missing.body, /RESOURCE_NOT_FOUND/);
  const malformed = await app.inject({ method: 'GET', url: `${AUDIT_BASE}/AuditEvent/abc`, headers: auditor });
  assert.equal(malformed.statusCode, 400);
  assert.match(malformed.body, /INVALID_RESOURCE_ID/);
});

test('a search must say what it looks for, with parameters it knows and values that parse (400 INVALID_SEARCH_DATA)', async () => {
  for (const query of ['', '_count=10', 'subject=x', 'patient=1234567890', 'patient=https://example.org|9000000009', `patient=${firstPatient}&patient=${secondPatient}`, 'organisation=lower', 'date=yesterday', '_count=1001&user=x']) {
    const { status, body } = await search(query);
    assert.equal(status, 400, query);
    assert.match(body, /INVALID_SEARCH_DATA/, query);
  }
});

test('dates at the ends of the calendar find nothing or everything, and a user id with a control character is refused: never a 500', async () => {
  for (const query of ['date=gt9999', 'date=gt9999-12-31', 'date=lt0001-01-01T00:00:00Z']) {
    const { status, bundle } = await search(query);
    assert.equal(status, 200, query);
    assert.deepEqual(requestIds(bundle), [], query);
  }
  const { status, bundle } = await search(`patient=${firstPatient}&date=ge0000-01-01T00:00:00Z&date=lt2022`);
  assert.equal(status, 200);
  assert.equal(requestIds(bundle).length, 3);
  for (const query of ['user=%00', 'user=https://fhir.nhs.uk/Id/sds-user-id|a%00b', 'user=a%0Ab']) {
    const refused = await search(query);
    assert.equal(refused.status, 400, query);
    assert.match(refused.body, /INVALID_SEARCH_DATA/, query);
  }
});

test('only a caller with the audit scope may search: 401 without a token, 403 without the scope or as a patient', async () => {
  const query = `patient=${firstPatient}`;
  assert.equal((await search(query, {})).status, 401);
  assert.equal((await search(query, tokenFor(staff(twelveDigits(), practice), []))).status, 403);
  assert.equal((await search(query, tokenFor({ mode: 'patient', userId: firstPatient, activityCodes: [] }))).status, 403);
  assert.equal((await search(query, tokenFor({ mode: 'system', activityCodes: [] }))).status, 200);
  assert.equal((await search(query, tokenFor({ mode: 'application-restricted', applicationId: 'app-1', activityCodes: [] }))).status, 200);
});

test('searching the trail is itself in the trail, with the patients the auditor saw, and so are refusals', async () => {
  const nosy = twelveDigits();
  await search(`patient=${secondPatient}`, tokenFor(staff(nosy, practice)));
  const { bundle } = await search(`user=${nosy}`);
  const events = (bundle.entry ?? []).map((entry) => entry.resource);
  assert.deepEqual(events.map((event) => [event?.source.site, event?.subtype?.[0]?.code, event?.outcome]), [['audit', 'search-type', '0']]);
  const seen = events[0]?.entity?.filter((entity) => entity.role?.code === '1').map((entity) => entity.what?.identifier?.value);
  assert.deepEqual(seen, [secondPatient, firstPatient], 'the patient searched for, then the others named in what was found');

  const requestId = randomUUID();
  const refused = await app.inject({ method: 'GET', url: `${AUDIT_BASE}/AuditEvent?patient=${secondPatient}`, headers: { ...tokenFor(staff(nosy, practice), []), 'x-request-id': requestId } });
  assert.equal(refused.statusCode, 403);
  const today = new Date().toISOString().slice(0, 10);
  const recent = await search(`date=ge${today}&_count=1000`);
  const refusal = recent.bundle.entry?.map((entry) => entry.resource).find((event) => requestIdOf(event) === requestId);
  assert.equal(refusal?.outcome, '4');
  assert.match(refusal?.outcomeDesc ?? '', /ACCESS_DENIED/);
  assert.equal(refusal?.agent[0]?.who?.identifier?.value, nosy, 'the refused caller is named');
});
