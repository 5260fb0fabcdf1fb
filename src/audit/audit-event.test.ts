// The FHIR form of an audit record: action and outcome codes, and the agents for each kind of caller.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Actor } from '../platform/context.ts';
import { toAuditEvent } from './audit-event.ts';
import { chainBlock } from './blocks.ts';
import { auditFields, GENESIS_HASH } from './chain.ts';
import { auditEntry } from './fixtures.ts';
import { loadFhirDefinitions, validationIssues } from '../platform/fhir/validate.ts';

function eventOf(overrides: Parameters<typeof auditEntry>[0]) {
  const [record] = chainBlock({ sequence: 41, hash: GENESIS_HASH }, [auditFields(auditEntry(overrides))]).records;
  assert.ok(record);
  return toAuditEvent(record);
}

test('the action follows the interaction: reads and searches R, create C, update and patch U, delete D, others E', () => {
  const actions = Object.fromEntries(
    ['read', 'vread', 'search-type', 'history-instance', 'create', 'update', 'patch', 'delete', 'transaction', 'GET /x/:id', 'POST /x/$do', 'PUT /x', 'DELETE /x']
      .map((interaction) => [interaction, eventOf({ interaction }).action]),
  );
  assert.deepEqual(actions, {
    read: 'R', vread: 'R', 'search-type': 'R', 'history-instance': 'R', create: 'C', update: 'U', patch: 'U', delete: 'D',
    transaction: 'E', 'GET /x/:id': 'R', 'POST /x/$do': 'E', 'PUT /x': 'U', 'DELETE /x': 'D',
  });
  assert.deepEqual(eventOf({ interaction: 'GET /x/:id' }).subtype, [{ display: 'GET /x/:id' }]);
});

test('the outcome: 0 success, 4 refused or the client at fault, 8 our own failure', () => {
  assert.equal(eventOf({ outcome: 'success', status: 200 }).outcome, '0');
  assert.equal(eventOf({ outcome: 'denied', status: 403 }).outcome, '4');
  assert.equal(eventOf({ outcome: 'failure', status: 404 }).outcome, '4');
  assert.equal(eventOf({ outcome: 'failure', status: 503 }).outcome, '8');
});

test('the agents: the user with their role profile, the application, the organisation; a caller without a user still has a requestor', () => {
  const agents = (actor: Actor | undefined) => eventOf({ actor }).agent.map((agent) => ({ who: agent.who, requestor: agent.requestor, role: agent.role?.[0]?.coding?.[0]?.code }));
  assert.deepEqual(agents({ mode: 'healthcare-worker', userId: '555555555555', roleProfileId: '666666666666', organisationOds: 'A83008', applicationId: 'app-1', activityCodes: [] }), [
    { who: { identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: '555555555555' } }, requestor: true, role: '666666666666' },
    { who: { identifier: { value: 'app-1' } }, requestor: false, role: undefined },
    { who: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'A83008' } }, requestor: false, role: undefined },
  ]);
  assert.deepEqual(agents({ mode: 'patient', userId: '9000000009', applicationId: 'nhs-app', activityCodes: [] })[0]?.who, { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' } });
  assert.deepEqual(agents({ mode: 'application-restricted', applicationId: 'app-2', activityCodes: [] }), [{ who: { identifier: { value: 'app-2' } }, requestor: true, role: undefined }]);
  assert.deepEqual(agents({ mode: 'system', activityCodes: [] }), [{ who: { display: 'OpenSpine' }, requestor: true, role: undefined }]);
  assert.deepEqual(agents(undefined), [{ who: { display: 'an unauthenticated caller' }, requestor: true, role: undefined }]);
});

test('the id is the sequence number; patients and resources are entities; the request entity carries its ids', () => {
  const event = eventOf({ requestId: 'r-9', correlationId: undefined, patientNhsNumbers: ['9000000009'], resourceIds: ['Patient/9000000009'] });
  assert.equal(event.id, '42');
  assert.deepEqual(event.entity?.map((entity) => entity.what?.identifier?.value ?? entity.what?.reference ?? entity.name), ['9000000009', 'Patient/9000000009', 'request']);
  const detail = event.entity?.at(-1)?.detail?.map((item) => item.type);
  assert.deepEqual(detail, ['X-Request-ID', 'access-mode', 'http-status', 'sequence', 'hash', 'previous-hash'], 'no correlation id when none was sent');
});

test('texts a request sent empty (an X-Correlation-ID header of nothing) are left out, so the AuditEvent is valid FHIR', () => {
  loadFhirDefinitions();
  const actor: Actor = { mode: 'healthcare-worker', userId: '', roleProfileId: '', organisationOds: '', applicationId: '', activityCodes: [] };
  const event = eventOf({ requestId: '', correlationId: '', actor, service: '', detail: '', patientNhsNumbers: [''], resourceIds: [''] });
  assert.deepEqual(validationIssues(undefined, event), []);
  assert.deepEqual(event.entity?.at(-1)?.detail?.map((item) => item.type), ['access-mode', 'http-status', 'sequence', 'hash', 'previous-hash']);
  assert.deepEqual(eventOf({ correlationId: 'c-1' }).entity?.at(-1)?.detail?.[1], { type: 'X-Correlation-ID', valueString: 'c-1' }, 'one sent is kept');
});
