// Sandbox mode's PDS: the NHS sandbox's well-known patients, its first allocated NHS number, and
// updates of its fixed patients answered but not kept; none of it outside sandbox mode.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { buildTestApp, type TestApp } from '../../test/support/app.ts';
import { PDS_BASE } from './routes.ts';
import { sandboxAllocationNumbers } from './sandbox-patients.ts';

const sandbox = await buildTestApp({ sandbox: true });
const real = await buildTestApp();

/** A request as a sandbox client sends it, with no token; outside sandbox mode, as the system. */
async function send(app: TestApp, method: 'GET' | 'POST' | 'PATCH', path: string, options: { headers?: Record<string, string>; payload?: object } = {}) {
  const authorization = app === real ? { authorization: `Bearer ${await real.token()}` } : {};
  return app.app.inject({ method, url: `${PDS_BASE}${path}`, headers: { 'x-request-id': randomUUID(), ...authorization, ...options.headers }, ...(options.payload ? { payload: options.payload } : {}) });
}
async function ids(app: TestApp, query: string) {
  const response = await send(app, 'GET', `/Patient?${query}`);
  assert.equal(response.statusCode, 200, response.body);
  return (response.json<Bundle<Patient>>().entry ?? []).map((entry) => entry.resource?.id);
}
const codeOf = (body: string) => (JSON.parse(body) as OperationOutcome).issue?.[0]?.details?.coding?.[0]?.code;

test('the sandbox patients: Jane Smith at Y12345 with a death date, KNAPP, and the Smith whose email was Historic@historic.com', async () => {
  const jane = (await send(sandbox, 'GET', '/Patient/9000000009')).json<Patient>();
  assert.equal(jane.meta?.versionId, '2');
  assert.equal(jane.generalPractitioner?.[0]?.identifier?.value, 'Y12345');
  const everything = 'family=Smith&gender=female&birthdate=eq2010-10-22&given=Jane&death-date=eq2010-10-22&address-postcode=LS1 6AE&general-practitioner=Y12345';
  assert.deepEqual(await ids(sandbox, `${everything}&phone=01632960587&email=jane.smith@example.com&_max-results=1`), ['9000000009']);
  assert.deepEqual(await ids(sandbox, 'family=KNAPP&gender=female&birthdate=1943-07-03&_exact-match=true'), ['9736363120']);
  assert.deepEqual(await ids(sandbox, 'family=Smith&gender=male&birthdate=2000-05-05&email=Historic@historic.com'), []);
  assert.deepEqual(await ids(sandbox, 'family=Smith&gender=male&birthdate=2000-05-05&_history=true&email=Historic@historic.com'), ['5900020584']);
  assert.equal((await send(sandbox, 'GET', '/Patient/9000000033')).json<Patient>().meta?.versionId, '2');
});

test('outside sandbox mode none of the sandbox patients is there, and the demo Jane Smith is registered at A83008', async () => {
  assert.deepEqual(await ids(real, 'family=KNAPP&gender=female&birthdate=1943-07-03'), []);
  const jane = (await send(real, 'GET', '/Patient/9000000009')).json<Patient>();
  assert.equal(jane.generalPractitioner?.[0]?.identifier?.value, 'A83008');
});

test('create: the sandbox allocates 5182663366 first, then the next free ones; its McMatch patients match', async () => {
  const [first, second] = sandboxAllocationNumbers(2);
  assert.equal(first, '5182663366');
  const one = await send(sandbox, 'POST', '/Patient', { headers: { 'content-type': 'application/json' }, payload: newPatient('Edwards') });
  const two = await send(sandbox, 'POST', '/Patient', { headers: { 'content-type': 'application/json' }, payload: newPatient('Edwardes') });
  assert.equal(one.statusCode, 201, one.body);
  assert.deepEqual([one.json<Patient>().id, two.json<Patient>().id], [first, second]);
  const single = await send(sandbox, 'POST', '/Patient', { headers: { 'content-type': 'application/json' }, payload: { ...newPatient('McMatch-Single'), address: [{ use: 'home', line: ['1 Trevelyan Square'], postalCode: 'BAP 4WG' }] } });
  assert.equal(codeOf(single.body), 'SINGLE_MATCH');
  const multiple = await send(sandbox, 'POST', '/Patient', { headers: { 'content-type': 'application/json' }, payload: { ...newPatient('McMatch-Multiple'), address: [{ use: 'home', line: ['1 Trevelyan Square'], postalCode: 'DN19 7UD' }] } });
  assert.equal(codeOf(multiple.body), 'MULTIPLE_MATCHES');

  const token = await real.token({ actor: { mode: 'healthcare-worker', userId: '555000000001', roleProfileId: '555000000101', activityCodes: [] } });
  const elsewhere = await send(real, 'POST', '/Patient', { headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, payload: newPatient('Edwards') });
  assert.equal(elsewhere.statusCode, 201, elsewhere.body);
  assert.match(elsewhere.json<Patient>().id ?? '', /^9/, 'outside sandbox mode a new number is random');
});

/** [NHS number, score] of each entry of a search's searchset, in order. */
async function scored(app: TestApp, query: string) {
  const response = await send(app, 'GET', `/Patient?${query}`);
  assert.equal(response.statusCode, 200, response.body);
  return (response.json<Bundle<Patient>>().entry ?? []).map((entry) => [entry.resource?.id, entry.search?.score]);
}
/** The two searches the NHS sandbox answers with canned results (sandbox-searches.ts), as its Postman collection sends them. */
const FUZZY_JANE_SMITH = 'family=smith&given=Jane&gender=female&birthdate=2010-10-22&_fuzzy-match=true';
const JANET_SMYTHES_EMAIL = 'family=Sm*&gender=female&birthdate=eq2010-10-22&email=janet.smythe@example.com&_max-results=1';

test("sandbox mode answers the NHS sandbox's two canned searches as it does, and only those exact searches", async () => {
  const response = await send(sandbox, 'GET', `/Patient?${FUZZY_JANE_SMITH}`);
  const bundle = response.json<Bundle<Patient>>();
  assert.match(String(response.headers['content-type']), /^application\/fhir\+json/);
  assert.deepEqual([bundle.resourceType, bundle.type, bundle.total], ['Bundle', 'searchset', 1]);
  assert.equal(bundle.entry?.[0]?.fullUrl, `http://openspine.test${PDS_BASE}/Patient/9000000017`);
  assert.deepEqual(bundle.entry?.[0]?.search, { score: 0.8976 }, 'the score of the NHS mock FUZZY_SEARCH_PATIENT_17');
  assert.equal(bundle.entry?.[0]?.resource?.name?.[0]?.family, 'Smyth');
  assert.deepEqual(await scored(sandbox, JANET_SMYTHES_EMAIL), [['9000000009', 1]]);

  // Any other search is searched, in sandbox mode too: with a phone, one more parameter, another birth date.
  assert.deepEqual(await scored(sandbox, `${FUZZY_JANE_SMITH}&phone=01632960587`), [['9000000009', 1]]);
  assert.deepEqual(await scored(sandbox, `${FUZZY_JANE_SMITH}&_max-results=5`), [['9000000009', 1], ['9000000017', 0.7333]]);
  assert.deepEqual(await scored(sandbox, JANET_SMYTHES_EMAIL.replace('eq2010-10-22', 'eq2005-06-16')), [['9000000025', 0.8654]], 'her own birth date finds Janet Smythe');
});

test('outside sandbox mode the same two searches get honest answers: Jane Smith first, and no one by Janet Smythe\'s email', async () => {
  assert.deepEqual(await scored(real, FUZZY_JANE_SMITH), [['9000000009', 1], ['9000000017', 0.7333]]);
  assert.deepEqual(await scored(real, JANET_SMYTHES_EMAIL), []);
});

test('an update of a fixed sandbox patient is checked and answered, not kept; a new patient is updated for real', async () => {
  const patch = (id: string, ifMatch: string) =>
    send(sandbox, 'PATCH', `/Patient/${id}`, { headers: { 'content-type': 'application/json-patch+json', 'if-match': ifMatch }, payload: { patches: [{ op: 'replace', path: '/name/0/given/0', value: 'Anne' }] } });
  const answered = await patch('9000000009', 'W/"2"');
  assert.equal(answered.statusCode, 200, answered.body);
  assert.equal(answered.headers.etag, 'W/"3"');
  assert.deepEqual(answered.json<Patient>().name?.[0]?.given, ['Anne']);
  const after = (await send(sandbox, 'GET', '/Patient/9000000009')).json<Patient>();
  assert.equal(after.meta?.versionId, '2');
  assert.deepEqual(after.name?.[0]?.given, ['Jane']);
  assert.equal(codeOf((await patch('9000000009', 'W/"1"')).body), 'RESOURCE_VERSION_MISMATCH', 'the version is still checked');

  const coverage = {
    resourceType: 'Coverage',
    status: 'active',
    subscriber: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' } },
    identifier: [{ value: '291234567890121234' }],
    payor: [{ identifier: { value: 'DE98735' } }],
    beneficiary: { identifier: { value: '9876543218' } },
  };
  const posted = await send(sandbox, 'POST', '/Coverage', { headers: { 'content-type': 'application/json', 'if-match': 'W/"2"' }, payload: coverage });
  assert.equal(posted.statusCode, 201, posted.body);
  assert.equal((posted.json<Bundle>().entry?.[0]?.resource as { identifier?: { value?: string }[] }).identifier?.[0]?.value, '291234567890121234');
  const kept = (await send(sandbox, 'GET', '/Coverage?subscriber:identifier=9000000009')).json<Bundle>();
  assert.notEqual((kept.entry?.[0]?.resource as { identifier?: { value?: string }[] }).identifier?.[0]?.value, '291234567890121234');

  const created = (await send(sandbox, 'POST', '/Patient', { headers: { 'content-type': 'application/json' }, payload: newPatient('Keeper') })).json<Patient>();
  const changed = await patch(created.id ?? '', 'W/"1"');
  assert.equal(changed.statusCode, 200, changed.body);
  assert.deepEqual((await send(sandbox, 'GET', `/Patient/${created.id ?? ''}`)).json<Patient>().name?.[0]?.given, ['Anne']);
});

function newPatient(family: string) {
  return { name: [{ use: 'usual', given: ['Jane'], family }], gender: 'female', birthDate: '1982-07-10', address: [{ use: 'home', line: ['1 Trevelyan Square', 'Leeds'], postalCode: 'LS1 6AE' }] };
}
