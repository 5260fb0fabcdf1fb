// The PDS FHIR API against its spec's behaviours: read, the trace (exact, wildcard, fuzzy, ranked,
// too many matches), restricted patients, PATCH with If-Match, access modes, and the audit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { buildTestApp } from '../../test/support/app.ts';
import { auditRecords } from '../../test/support/audit.ts';
import type { Actor } from '../platform/context.ts';
import { isValidNhsNumber, randomNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { searchKeysOf } from './search-keys.ts';
import { writePatient } from './store.ts';
import { PDS_BASE } from './routes.ts';

const t = await buildTestApp();
const staff = (userId: string, roleProfileId: string): Actor => ({ mode: 'healthcare-worker', userId, roleProfileId, activityCodes: [] });
const GP = staff('555000000001', '555000000101');
const PHARMACIST = staff('555000000003', '555000000103');

async function call(method: 'GET' | 'PATCH', path: string, options: { actor?: Actor; headers?: Record<string, string>; payload?: unknown } = {}) {
  const token = await t.token({ actor: options.actor ?? GP });
  return t.app.inject({
    method,
    url: `${PDS_BASE}${path}`,
    headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID(), ...options.headers },
    ...(options.payload === undefined ? {} : { payload: options.payload as object }),
  });
}
const codeOf = (body: string) => (JSON.parse(body) as OperationOutcome).issue?.[0]?.details?.coding?.[0]?.code;
const found = async (query: string, actor?: Actor) => {
  const response = await call('GET', `/Patient?${query}`, actor ? { actor } : {});
  const bundle = response.json<Bundle<Patient>>();
  return (bundle.entry ?? []).map((entry) => [entry.resource?.id, entry.search?.score]);
};

test('read by NHS number: ETag and meta.versionId; bad check digit 400; unknown 404 information; invalidated; superseded gives the survivor', async () => {
  const read = await call('GET', '/Patient/9000000009');
  assert.equal(read.statusCode, 200);
  assert.equal(read.headers.etag, 'W/"2"');
  const patient = read.json<Patient>();
  assert.equal(patient.id, '9000000009');
  assert.equal(patient.meta?.versionId, '2');
  assert.equal(patient.meta?.security?.[0]?.code, 'U');

  const invalid = await call('GET', '/Patient/9000000000');
  assert.equal(invalid.statusCode, 400);
  assert.equal(codeOf(invalid.body), 'INVALID_RESOURCE_ID');
  const unknown = await call('GET', '/Patient/9111231130');
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json<OperationOutcome>().issue[0]?.severity, 'information');
  assert.equal(codeOf(unknown.body), 'RESOURCE_NOT_FOUND');
  const invalidated = await call('GET', '/Patient/9000000041');
  assert.equal(invalidated.statusCode, 404);
  assert.equal(codeOf(invalidated.body), 'INVALIDATED_RESOURCE');
  const superseded = await call('GET', '/Patient/9000000068');
  assert.equal(superseded.statusCode, 200);
  assert.equal(superseded.json<Patient>().id, '9000000009', 'the surviving record, whose id differs from the one asked for');
});

test('X-Request-ID is required, as PDS requires it', async () => {
  const token = await t.token({ actor: GP });
  const response = await t.app.inject({ method: 'GET', url: `${PDS_BASE}/Patient/9000000009`, headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.statusCode, 400);
  assert.match(response.body, /X-Request-ID header must be supplied to access this resource/);
});

test('a restricted patient is served without address, telecom, contact or GP, and is not found by postcode or GP', async () => {
  const restricted = (await call('GET', '/Patient/9000000025')).json<Patient>();
  assert.equal(restricted.meta?.security?.[0]?.code, 'R');
  assert.equal(restricted.address, undefined);
  assert.equal(restricted.telecom, undefined);
  assert.equal(restricted.generalPractitioner, undefined);
  assert.deepEqual(await found('family=Smythe&birthdate=eq2005-06-16'), [['9000000025', 1]]);
  assert.deepEqual(await found('family=Smythe&birthdate=eq2005-06-16&address-postalcode=LS1 6AE'), []);
  assert.deepEqual(await found('family=Smythe&birthdate=eq2005-06-16&general-practitioner=A83008'), []);
});

test('the trace: exact, case-insensitive, wildcard after two characters, birth date ranges, postcode without spaces', async () => {
  assert.deepEqual(await found('family=smith&birthdate=eq2010-10-22'), [['9000000009', 1]]);
  // wildcard family 0.75 × 0.35 + birth date 1 × 0.25, over 0.6
  assert.deepEqual(await found('family=Sm*&birthdate=eq2010-10-22'), [['9000000009', 0.8542], ['9000000017', 0.8542]]);
  assert.deepEqual(await found('family=Smith&birthdate=ge2010-01-01&birthdate=le2010-12-31'), [['9000000009', 1]]);
  assert.deepEqual(await found('family=Smith&birthdate=eq2010-10-22&address-postalcode=ls16ae'), [['9000000009', 1]]);
  assert.deepEqual(await found('family=Smith&birthdate=eq2010-10-22&gender=male'), []);
  assert.deepEqual(await found('family=Smith&given=Jane&birthdate=eq2010-10-22&email=jane.smith@example.com'), [['9000000009', 1]]);
  assert.deepEqual(await found('family=Smith&birthdate=eq2010-10-22&history=true'), [['9000000009', 1]], 'unknown parameters are ignored, as the NHS sandbox does');
});

test('fuzzy: phonetic names, transposed names, nicknames and close dates of birth, best first', async () => {
  // Smyth/Jayne: phonetic 0.6 × (0.35 + 0.25) + birth date 1 × 0.25, over 0.85
  assert.deepEqual(await found('family=Smith&given=Jane&birthdate=eq2010-10-22&_fuzzy-match=true'), [['9000000009', 1], ['9000000017', 0.7176]]);
  // transposed names 0.5 × (0.35 + 0.25) + birth date 1 × 0.25, over 0.85
  assert.deepEqual((await found('family=Jane&given=Smith&birthdate=eq2010-10-22&_fuzzy-match=true'))[0], ['9000000009', 0.6471]);
  // a day out: names 1 × 0.6 + birth date 0.5 × 0.25, over 0.85
  assert.deepEqual((await found('family=Smith&given=Jane&birthdate=eq2010-10-23&_fuzzy-match=true'))[0], ['9000000009', 0.8529]);
  // a nickname: family 1 × 0.35 + given 0.75 × 0.25 + birth date 0.25, over 0.85
  assert.deepEqual((await found('family=Minimal&given=Johnny&birthdate=eq1990-01-01&_fuzzy-match=true'))[0], ['9000000033', 0.9265]);
  assert.deepEqual((await found('family=Smith&given=Jane&birthdate=eq2010-10-22&_fuzzy-match=true&_exact-match=true')), [['9000000009', 1]]);
  // email and phone match exactly even in a fuzzy search
  assert.deepEqual(await found('family=Smith&given=Jane&birthdate=eq2010-10-22&phone=01632960587&_fuzzy-match=true'), [['9000000009', 1]]);
  assert.deepEqual(await found('family=Smith&given=Jane&birthdate=eq2010-10-22&email=jane.smith@example.com&_fuzzy-match=true'), [['9000000009', 1]]);
});

test('too many matches is HTTP 200 with an OperationOutcome, not a Bundle', async () => {
  const response = await call('GET', '/Patient?family=Smith&given=Jane&birthdate=eq2010-10-22&_fuzzy-match=true&_max-results=1');
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'multiple-matches', details: { coding: [{ system: 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode', version: '1', code: 'TOO_MANY_MATCHES', display: 'Too Many Matches' }] } }],
  });
});

test('bad searches get the spec errors', async () => {
  const cases: [string, number, string][] = [
    ['', 400, 'UNSUPPORTED_SERVICE'],
    ['family=Smith', 400, 'MISSING_VALUE'],
    ['birthdate=eq2010-10-22', 400, 'MISSING_VALUE'],
    ['family=S*&birthdate=eq2010-10-22', 400, 'INVALID_SEARCH_DATA'],
    ['family=Sm*&given=Jane&birthdate=eq2010-10-22&_fuzzy-match=true', 400, 'INVALID_SEARCH_DATA'],
    ['family=Smith&birthdate=eq2010-10-22&_fuzzy-match=true', 400, 'INVALID_SEARCH_DATA'],
    ['family=Smith&birthdate=eq2010-10-22&gender=mal', 400, 'INVALID_VALUE'],
    ['family=Smith&birthdate=2010-13-45', 400, 'INVALID_VALUE'],
    ['family=Smith&birthdate=eq2010-10-22&_max-results=51', 400, 'INVALID_VALUE'],
    ['family=Smith&birthdate=eq2010-10-22&address-postcode=LS1&address-postalcode=LS1', 400, 'INVALID_SEARCH_DATA'],
    ['colour=red', 400, 'UNSUPPORTED_SERVICE'],
  ];
  for (const [query, status, code] of cases) {
    const response = await call('GET', `/Patient?${query}`);
    assert.equal(response.statusCode, status, `${query}: ${response.body}`);
    assert.equal(codeOf(response.body), code, query);
  }
  const invalidGender = await call('GET', '/Patient?family=Smith&birthdate=eq2010-10-22&gender=mal');
  assert.equal(invalidGender.json<OperationOutcome>().issue[0]?.diagnostics, "Invalid value - 'mal' in field 'gender'");
});

test('PATCH: wrapped patches over the If-Match version; 412 without it, 409 when stale, forbidden paths, atomic', async () => {
  const patch = (patches: unknown, ifMatch?: string, actor: Actor = GP) =>
    call('PATCH', '/Patient/9000000033', { actor, headers: { 'content-type': 'application/json-patch+json', ...(ifMatch ? { 'if-match': ifMatch } : {}) }, payload: { patches } });
  const change = [{ op: 'add', path: '/name/0/given/-', value: 'Paul' }];
  assert.equal((await patch(change)).statusCode, 412);
  assert.equal(codeOf((await patch(change, 'W/"x"')).body), 'PRECONDITION_FAILED');
  const done = await patch(change, 'W/"1"');
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.headers.etag, 'W/"2"');
  assert.deepEqual(done.json<Patient>().name?.[0]?.given, ['John', 'Paul']);
  const stale = await patch(change, 'W/"1"');
  assert.equal(stale.statusCode, 409);
  assert.equal(codeOf(stale.body), 'RESOURCE_VERSION_MISMATCH');
  assert.equal(codeOf((await patch([], 'W/"2"')).body), 'INVALID_UPDATE');
  const forbidden = await patch([{ op: 'replace', path: '/identifier/0/value', value: '9000000009' }], 'W/"2"');
  assert.equal(forbidden.statusCode, 403);
  assert.equal(codeOf(forbidden.body), 'FORBIDDEN_UPDATE');
  const unguardedRemove = await patch([{ op: 'remove', path: '/name/0' }], 'W/"2"');
  assert.equal(codeOf(unguardedRemove.body), 'INVALID_UPDATE');
  const failedTest = await patch([{ op: 'replace', path: '/gender', value: 'female' }, { op: 'test', path: '/birthDate', value: '1999-09-09' }], 'W/"2"');
  assert.equal(failedTest.statusCode, 400);
  const after = (await call('GET', '/Patient/9000000033')).json<Patient>();
  assert.equal(after.gender, 'male', 'nothing of a failed patch is kept');
  assert.equal(after.meta?.versionId, '2');
  const pharmacist = await patch([{ op: 'replace', path: '/gender', value: 'female' }], 'W/"2"', PHARMACIST);
  assert.equal(pharmacist.statusCode, 403, 'amending demographics needs B0825');
});

test('PATCH checks in the spec order: NHS number, patient, If-Match, version, Content-Type, then the patches', async () => {
  const patchWith = (id: string, headers: Record<string, string>, payload: string) =>
    t.app.inject({ method: 'PATCH', url: `${PDS_BASE}/Patient/${id}`, headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID(), ...headers }, payload });
  const token = await t.token({ actor: GP });
  const noPatches = JSON.stringify({ correction: false });
  const cases: [id: string, headers: Record<string, string>, payload: string, status: number, code: string][] = [
    ['9000000000', { 'content-type': 'text/plain' }, 'not json', 400, 'INVALID_RESOURCE_ID'],
    // an unknown patient is 404 whatever the body, the If-Match or the Content-Type
    ['9111231130', { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' }, noPatches, 404, 'RESOURCE_NOT_FOUND'],
    ['9111231130', { 'content-type': 'text/plain' }, 'not json', 404, 'RESOURCE_NOT_FOUND'],
    ['9000000017', { 'content-type': 'application/fhir+json' }, noPatches, 412, 'PRECONDITION_FAILED'],
    ['9000000017', { 'content-type': 'application/fhir+json', 'if-match': 'W/"99"' }, noPatches, 409, 'RESOURCE_VERSION_MISMATCH'],
    // the Postman collection's "Wrong content type", and other types or none
    ['9000000017', { 'content-type': 'application/fhir+json', 'if-match': 'W/"1"' }, JSON.stringify({ patches: [{ op: 'remove', path: '/name/0' }] }), 400, 'UNSUPPORTED_SERVICE'],
    ['9000000017', { 'content-type': 'text/plain', 'if-match': 'W/"1"' }, 'not json', 400, 'UNSUPPORTED_SERVICE'],
    ['9000000017', { 'if-match': 'W/"1"' }, 'not json', 400, 'UNSUPPORTED_SERVICE'],
    ['9000000017', { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' }, noPatches, 400, 'INVALID_UPDATE'],
    ['9000000017', { 'content-type': 'application/json; charset=utf-8', 'if-match': 'W/"1"' }, noPatches, 400, 'INVALID_UPDATE'],
  ];
  for (const [id, headers, payload, status, code] of cases) {
    const response = await patchWith(id, headers, payload);
    assert.equal(response.statusCode, status, `${id} ${JSON.stringify(headers)}: ${response.body}`);
    assert.equal(codeOf(response.body), code, `${id} ${JSON.stringify(headers)}`);
  }
  const wrongType = await patchWith('9000000017', { 'content-type': 'application/fhir+json', 'if-match': 'W/"1"' }, noPatches);
  assert.equal(wrongType.json<OperationOutcome>().issue[0]?.code, 'processing');
  assert.equal((await call('GET', '/Patient/9000000017')).json<Patient>().meta?.versionId, '1', 'nothing was changed');
  const plainJson = await patchWith('9000000017', { 'content-type': 'application/json', 'if-match': 'W/"1"' }, JSON.stringify({ patches: [{ op: 'add', path: '/gender', value: 'female' }] }));
  assert.equal(plainJson.statusCode, 200, 'application/json is taken as the sandbox takes it');
});

test('create: a new record gets a new valid NHS number; matching demographics give SINGLE_MATCH or MULTIPLE_MATCHES with HTTP 200', async () => {
  const token = await t.token({ actor: GP });
  const post = (payload: object) =>
    t.app.inject({ method: 'POST', url: `${PDS_BASE}/Patient`, headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID(), 'content-type': 'application/json' }, payload });
  const newcomer = { name: [{ use: 'usual', given: ['Ada'], family: 'Newcomer' }], gender: 'female', birthDate: '2001-02-03', address: [{ use: 'home', line: ['3 New Street'], postalCode: 'LS2 7AA' }] };
  const created = await post(newcomer);
  assert.equal(created.statusCode, 201, created.body);
  const patient = created.json<Patient>();
  assert.ok(isValidNhsNumber(patient.id ?? ''), patient.id);
  assert.equal(patient.meta?.versionId, '1');
  assert.equal((await call('GET', `/Patient/${patient.id ?? ''}`)).statusCode, 200);

  const again = await post(newcomer);
  assert.equal(again.statusCode, 200);
  assert.equal(codeOf(again.body), 'SINGLE_MATCH');
  assert.equal(again.json<OperationOutcome>().issue[0]?.diagnostics, `Unable to create new patient. NHS number ${patient.id ?? ''} found for supplied demographic data.`);
  const twin: Patient = { resourceType: 'Patient', ...newcomer } as Patient;
  await writePatient(t.db, { nhsNumber: randomNhsNumber('9'), versionId: 1, lastUpdated: new Date(), record: twin, restricted: false, keys: searchKeysOf(twin) }, 'new');
  assert.equal(codeOf((await post(newcomer)).body), 'MULTIPLE_MATCHES');
  const pets = await post({ ...newcomer, pets: ['cat'] });
  assert.equal(pets.statusCode, 400);
  assert.equal(codeOf(pets.body), 'ADDITIONAL_PROPERTIES');
  const noBirthDate = await post({ ...newcomer, birthDate: undefined });
  assert.equal(codeOf(noBirthDate.body), 'MISSING_VALUE');
  // PDS refuses a new record of gender 'other' (the NHS's create tests), though search and read know it.
  const other = await post({ ...newcomer, name: [{ use: 'usual', given: ['Alex'], family: 'Otherwise' }], gender: 'other' });
  assert.equal(other.statusCode, 400, other.body);
  assert.equal(other.json<OperationOutcome>().issue[0]?.diagnostics, "Invalid value - 'other' in field 'gender'");
});

test('an empty searchset has total 0 and no entry (FHIR JSON has no empty arrays)', async () => {
  const none = (await call('GET', '/Patient?family=Bingham&given=John&gender=male&birthdate=1934-12-18')).json<Bundle>();
  assert.equal(none.total, 0);
  assert.equal('entry' in none, false);
  const nobody = (await call('GET', '/Patient/9000000025/RelatedPerson')).json<Bundle>();
  assert.equal('entry' in nobody, false);
  const uncovered = (await call('GET', '/Coverage?subscriber:identifier=9000000033', { actor: { mode: 'patient', userId: '9000000033', activityCodes: [] } })).json<Bundle>();
  assert.equal(uncovered.total, 0);
  assert.equal('entry' in uncovered, false);
});

test('history: an email or phone that an update replaced is found by a _history search and a fuzzy one, not by a plain one', async () => {
  const nhsNumber = randomNhsNumber('9');
  const [oldEmail, newEmail] = [`old-${randomUUID()}@example.com`, `new-${randomUUID()}@example.com`];
  const person: Patient = { resourceType: 'Patient', name: [{ use: 'usual', given: ['Hester'], family: 'Historian' }], gender: 'female', birthDate: '1961-02-03', telecom: [{ system: 'email', value: oldEmail }, { system: 'phone', value: '01632000111' }] };
  await writePatient(t.db, { nhsNumber, versionId: 1, lastUpdated: new Date(), record: person, restricted: false, keys: searchKeysOf(person) }, 'new');
  const patches = [{ op: 'replace', path: '/telecom/0/value', value: newEmail.toUpperCase() }, { op: 'replace', path: '/telecom/1/value', value: '01632000222' }];
  const updated = await call('PATCH', `/Patient/${nhsNumber}`, { headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' }, payload: { patches } });
  assert.equal(updated.statusCode, 200, updated.body);
  const base = 'family=Historian&birthdate=eq1961-02-03';
  assert.deepEqual(await found(`${base}&email=${newEmail}`), [[nhsNumber, 1]], 'the current email, in any case');
  assert.deepEqual(await found(`${base}&email=${oldEmail}`), [], 'only current data without _history');
  assert.deepEqual(await found(`${base}&email=${oldEmail.toUpperCase()}&_history=true`), [[nhsNumber, 1]]);
  assert.deepEqual(await found(`${base}&phone=01632000111&_history=true`), [[nhsNumber, 1]]);
  assert.deepEqual(await found(`${base}&phone=01632000111&_history=false`), []);
  assert.deepEqual(await found(`${base}&given=Hester&phone=01632000111&_fuzzy-match=true`), [[nhsNumber, 1]], 'a fuzzy search always searches history');
});

test('history: a family name, given name or postcode that an update replaced is found by a _history search and a fuzzy one, scored below current data', async () => {
  const nhsNumber = randomNhsNumber('9');
  const person: Patient = {
    resourceType: 'Patient',
    name: [{ id: 'name-1', use: 'usual', given: ['Philippa'], family: 'Maidenly' }],
    gender: 'female',
    birthDate: '1972-04-05',
    address: [{ id: 'address-1', use: 'home', line: ['1 Old Road'], postalCode: 'YO1 7HH' }],
  };
  await writePatient(t.db, { nhsNumber, versionId: 1, lastUpdated: new Date(), record: person, restricted: false, keys: searchKeysOf(person) }, 'new');
  const patches = [
    { op: 'replace', path: '/name/0/family', value: 'Marriot' },
    { op: 'replace', path: '/name/0/given/0', value: 'Pippa' },
    { op: 'replace', path: '/address/0/postalCode', value: 'YO31 8AA' },
  ];
  const updated = await call('PATCH', `/Patient/${nhsNumber}`, { headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' }, payload: { patches } });
  assert.equal(updated.statusCode, 200, updated.body);
  const born = 'birthdate=eq1972-04-05';
  assert.deepEqual(await found(`family=Marriot&${born}`), [[nhsNumber, 1]]);
  assert.deepEqual(await found(`family=Maidenly&${born}`), [], 'only current data without _history');
  // a previous family name: 0.9 × 0.35 + birth date 0.25, over 0.6
  assert.deepEqual(await found(`family=Maidenly&${born}&_history=true`), [[nhsNumber, 0.9417]]);
  assert.deepEqual(await found(`family=MAID*&${born}&_history=true`), [[nhsNumber, 0.8104]], 'a wildcard over previous names: 0.9 × 0.75 × 0.35 + 0.25, over 0.6');
  assert.deepEqual(await found(`family=Marriot&given=Philippa&${born}&_history=true`), [[nhsNumber, 0.9706]], 'a previous given name');
  assert.deepEqual(await found(`family=Marriot&${born}&address-postalcode=YO1 7HH`), []);
  assert.deepEqual(await found(`family=Marriot&${born}&address-postalcode=YO17HH&_history=true`), [[nhsNumber, 0.9857]], 'a previous postcode: 1 × 0.6 + 0.9 × 0.1, over 0.7');
  assert.deepEqual(await found(`family=Marriot&${born}&address-postalcode=YO1*&_history=true`), [[nhsNumber, 0.9643]], 'a wildcard over previous postcodes');
  // fuzzy searches always search history: a previous name heard differently (Maidenley), with a day out
  // (a previous name's Soundex 0.9 × 0.6 × 0.35 + a previous given name 0.9 × 0.25 + birth date 0.5 × 0.25, over 0.85)
  assert.deepEqual(await found('family=Maidenley&given=Philippa&birthdate=eq1972-04-06&_fuzzy-match=true'), [[nhsNumber, 0.6341]]);
});

test('access modes: a patient sees their own record only; an application gets one unique match and cannot update', async () => {
  const patient: Actor = { mode: 'patient', userId: '9000000009', activityCodes: [] };
  assert.equal((await call('GET', '/Patient/9000000009', { actor: patient })).statusCode, 200);
  assert.equal((await call('GET', '/Patient/9000000017', { actor: patient })).statusCode, 403);
  assert.equal((await call('GET', '/Patient?family=Smith&birthdate=eq2010-10-22', { actor: patient })).statusCode, 403);
  const application: Actor = { mode: 'application-restricted', applicationId: 'openspine-demo-system', activityCodes: [] };
  assert.deepEqual(await found('family=Smith&birthdate=eq2010-10-22', application), [['9000000009', 1]]);
  const many = await call('GET', '/Patient?family=Sm*&birthdate=eq2010-10-22', { actor: application });
  assert.equal(many.statusCode, 403);
  assert.equal(codeOf(many.body), 'INVALID_VALUE');
  const update = await call('PATCH', '/Patient/9000000009', { actor: application, headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"2"' }, payload: { patches: [] } });
  assert.equal(update.statusCode, 403);
});

test("a patient refused another's record is audited naming that record's patient", async () => {
  const requestId = randomUUID();
  const token = await t.token({ actor: { mode: 'patient', userId: '9000000009', activityCodes: [] } });
  for (const url of ['/Patient/9000000017', '/Patient/9000000017/RelatedPerson', '/Coverage?subscriber:identifier=9000000017']) {
    const refused = await t.app.inject({ method: 'GET', url: `${PDS_BASE}${url}`, headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId } });
    assert.equal(refused.statusCode, 403, url);
    const record = (await auditRecords(t.db)).findLast((candidate) => candidate.requestId === requestId);
    assert.deepEqual(record && [record.outcome, record.patientNhsNumbers], ['denied', ['9000000017']], url);
  }
});

test('a read of a superseded NHS number is audited with the number asked for and the survivor’s; one not found with the number asked for', async () => {
  const token = await t.token({ actor: GP });
  const recordOf = async (nhsNumber: string) => {
    const requestId = randomUUID();
    await t.app.inject({ method: 'GET', url: `${PDS_BASE}/Patient/${nhsNumber}`, headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId } });
    return (await auditRecords(t.db)).find((candidate) => candidate.requestId === requestId);
  };
  assert.deepEqual((await recordOf('9000000068'))?.patientNhsNumbers, ['9000000068', '9000000009']);
  const unknown = randomNhsNumber('999');
  assert.deepEqual((await recordOf(unknown))?.patientNhsNumbers, [unknown]);
});

test('every read and search is audited with the patients it touched', async () => {
  const requestId = randomUUID();
  const token = await t.token({ actor: GP });
  await t.app.inject({ method: 'GET', url: `${PDS_BASE}/Patient?family=Smith&birthdate=eq2010-10-22`, headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId } });
  const record = (await auditRecords(t.db)).find((candidate) => candidate.requestId === requestId);
  assert.deepEqual(record && [record.patientNhsNumbers, record.userId, record.interaction], [['9000000009'], GP.userId, 'search-type']);
});

test('related people: given for a patient, none for a restricted one, without the address of a related person who is restricted', async () => {
  const bundle = (await call('GET', '/Patient/9000000009/RelatedPerson')).json<Bundle>();
  assert.equal(bundle.type, 'searchset');
  assert.equal(bundle.total, 2);
  const restrictedRelative = bundle.entry?.find((entry) => entry.resource?.id === 'RP000002')?.resource as { address?: unknown } | undefined;
  assert.ok(restrictedRelative);
  assert.equal(restrictedRelative.address, undefined);
  assert.equal((await call('GET', '/Patient/9000000017/RelatedPerson')).json<Bundle>().total, 1);
  assert.equal((await call('GET', '/Patient/9000000025/RelatedPerson')).json<Bundle>().total, 0);
  assert.equal((await call('GET', '/Patient/9000000000/RelatedPerson')).statusCode, 400);
});

test('coverage: EHIC details for the patient themselves (patient access), nothing for others', async () => {
  const patient: Actor = { mode: 'patient', userId: '9000000009', activityCodes: [] };
  const own = await call('GET', '/Coverage?subscriber:identifier=9000000009', { actor: patient });
  assert.equal(own.statusCode, 200);
  assert.equal(own.json<Bundle>().total, 1);
  assert.equal((await call('GET', '/Coverage?subscriber:identifier=9000000017', { actor: patient })).statusCode, 403);
  assert.equal((await call('GET', '/Coverage?subscriber:identifier=9000000009')).statusCode, 403, 'not for healthcare workers');
  const badSearch = await call('GET', '/Coverage?subscriber:identifier=9000000009&year=2003', { actor: patient });
  assert.equal(badSearch.statusCode, 400);
  // The diagnostics of coverage-get.yaml's INVALID_SEARCH_DATA example.
  assert.equal(badSearch.json<OperationOutcome>().issue[0]?.diagnostics, "Invalid search data provided - 'Coverage search request must follow the format /Coverage?subscriber:identifier=NHS_NUMBER'");
});

test('posting coverage replaces the EHIC record over the version in If-Match', async () => {
  const patient: Actor = { mode: 'patient', userId: '9000000009', activityCodes: [] };
  const version = (await call('GET', '/Coverage?subscriber:identifier=9000000009', { actor: patient })).headers.etag as string;
  const ehic = {
    resourceType: 'Coverage',
    status: 'active',
    subscriber: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' } },
    identifier: [{ value: '80276000000000000001' }],
    payor: [{ identifier: { value: 'FR-INST-1' } }],
    beneficiary: { identifier: { value: 'PERSONAL-1' } },
    period: { end: '2031-12-31' },
  };
  const patientToken = await t.token({ actor: patient });
  const send = (body: object, ifMatch?: string) =>
    t.app.inject({ method: 'POST', url: `${PDS_BASE}/Coverage`, headers: { authorization: `Bearer ${patientToken}`, 'x-request-id': randomUUID(), 'content-type': 'application/json', ...(ifMatch ? { 'if-match': ifMatch } : {}) }, payload: body });
  assert.equal((await send(ehic)).statusCode, 412);
  assert.equal(codeOf((await send({ ...ehic, status: 'Expired' }, version)).body), 'INVALID_VALUE');
  assert.equal(codeOf((await send({ ...ehic, identifier: [] }, version)).body), 'MISSING_VALUE');
  const saved = await send(ehic, version);
  assert.equal(saved.statusCode, 201, saved.body);
  assert.notEqual(saved.headers.etag, version);
  assert.equal((await send(ehic, version)).statusCode, 409, 'the old version is stale now');
  const bundle = (await call('GET', '/Coverage?subscriber:identifier=9000000009', { actor: patient })).json<Bundle>();
  assert.equal((bundle.entry?.[0]?.resource as { identifier?: { value?: string }[] } | undefined)?.identifier?.[0]?.value, '80276000000000000001');
});
