// An audit record as a FHIR R4 AuditEvent, the form auditors search the trail in.
// https://hl7.org/fhir/R4/auditevent.html
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import { NHS_NUMBER_SYSTEM } from '../platform/identifiers/nhs-number.ts';
import { ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';
import type { AuditRecord } from './chain.ts';

export const SDS_USER_ID_SYSTEM = 'https://fhir.nhs.uk/Id/sds-user-id';
export const SDS_ROLE_PROFILE_ID_SYSTEM = 'https://fhir.nhs.uk/Id/sds-role-profile-id';
const RESTFUL_INTERACTION_SYSTEM = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';

const REST_OPERATION: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' };
const APPLICATION_SERVER: Coding = { system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' };
const HUMAN_USER: Coding = { system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' };
const APPLICATION: Coding = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110150', display: 'Application' };
const PERSON_ENTITY: Coding = { system: ENTITY_TYPE_SYSTEM, code: '1', display: 'Person' };
const SYSTEM_OBJECT_ENTITY: Coding = { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' };
const OTHER_ENTITY: Coding = { system: ENTITY_TYPE_SYSTEM, code: '4', display: 'Other' };
const PATIENT_ROLE: Coding = { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' };

/** The FHIR interactions (http://hl7.org/fhir/restful-interaction) and what each does to data. */
const FHIR_ACTIONS: Record<string, NonNullable<AuditEvent['action']>> = {
  read: 'R', vread: 'R', 'search-type': 'R', 'search-system': 'R', search: 'R',
  history: 'R', 'history-instance': 'R', 'history-type': 'R', 'history-system': 'R', capabilities: 'R',
  create: 'C', update: 'U', patch: 'U', delete: 'D',
  transaction: 'E', batch: 'E', operation: 'E',
};

/** Other routes name their interaction `METHOD /route`. */
const METHOD_ACTIONS: Record<string, NonNullable<AuditEvent['action']>> = { GET: 'R', HEAD: 'R', PUT: 'U', PATCH: 'U', DELETE: 'D' };

export function toAuditEvent(stored: AuditRecord): AuditEvent {
  const record = withoutEmptyTexts(stored);
  const fhirAction = FHIR_ACTIONS[record.interaction];
  const method = record.interaction.split(' ')[0] ?? '';
  return {
    resourceType: 'AuditEvent',
    id: String(record.sequence),
    type: REST_OPERATION,
    subtype: [fhirAction ? { system: RESTFUL_INTERACTION_SYSTEM, code: record.interaction } : { display: record.interaction }],
    action: fhirAction ?? METHOD_ACTIONS[method] ?? 'E',
    recorded: record.occurredAt.toISOString(),
    outcome: outcomeCode(record),
    ...(record.detail === null ? {} : { outcomeDesc: record.detail }),
    agent: agentsOf(record),
    source: { ...(record.service === '' ? {} : { site: record.service }), observer: { display: 'OpenSpine' }, type: [APPLICATION_SERVER] },
    entity: [
      ...record.patientNhsNumbers.map((nhsNumber): AuditEventEntity => ({
        what: { identifier: { system: NHS_NUMBER_SYSTEM, value: nhsNumber } },
        type: PERSON_ENTITY,
        role: PATIENT_ROLE,
      })),
      ...record.resourceIds.map((reference): AuditEventEntity => ({ what: { reference }, type: SYSTEM_OBJECT_ENTITY })),
      requestEntity(record),
    ],
  };
}

/**
 * The record with what it holds empty left out: a header sent empty (X-Correlation-ID: ) is kept
 * as it came, but a FHIR string has at least one character, and an AuditEvent naming '' is invalid.
 */
function withoutEmptyTexts(record: AuditRecord): AuditRecord {
  const orNull = (text: string | null) => (text === '' ? null : text);
  return {
    ...record,
    correlationId: orNull(record.correlationId),
    actorMode: orNull(record.actorMode),
    userId: orNull(record.userId),
    roleProfileId: orNull(record.roleProfileId),
    organisationOds: orNull(record.organisationOds),
    applicationId: orNull(record.applicationId),
    detail: orNull(record.detail),
    patientNhsNumbers: record.patientNhsNumbers.filter((nhsNumber) => nhsNumber !== ''),
    resourceIds: record.resourceIds.filter((reference) => reference !== ''),
  };
}

/** 0 success, 4 minor failure (refused, or the client's mistake), 8 serious failure (ours). */
function outcomeCode(record: AuditRecord): NonNullable<AuditEvent['outcome']> {
  if (record.outcome === 'success') return '0';
  return record.outcome === 'failure' && record.status >= 500 ? '8' : '4';
}

/** The user (in their role profile), their organisation and the application; the first is the requestor. */
function agentsOf(record: AuditRecord): AuditEventAgent[] {
  const agents: AuditEventAgent[] = [];
  if (record.userId !== null) {
    // A patient's user id is their NHS number; staff have an SDS (CIS2) user id.
    const system = record.actorMode === 'patient' ? NHS_NUMBER_SYSTEM : SDS_USER_ID_SYSTEM;
    agents.push({
      type: { coding: [HUMAN_USER] },
      who: { identifier: { system, value: record.userId } },
      ...(record.roleProfileId === null ? {} : { role: [{ coding: [{ system: SDS_ROLE_PROFILE_ID_SYSTEM, code: record.roleProfileId }] }] }),
      requestor: true,
    });
  }
  if (record.applicationId !== null) {
    agents.push({ type: { coding: [APPLICATION] }, who: { identifier: { value: record.applicationId } }, requestor: agents.length === 0 });
  }
  if (agents.length === 0) {
    const caller = record.actorMode === null ? 'an unauthenticated caller' : record.actorMode === 'system' ? 'OpenSpine' : `a ${record.actorMode} caller`;
    agents.push({ type: { text: record.actorMode ?? 'unauthenticated' }, who: { display: caller }, requestor: true });
  }
  if (record.organisationOds !== null) {
    agents.push({ type: { text: 'organisation' }, who: { identifier: { system: ODS_CODE_SYSTEM, value: record.organisationOds } }, requestor: false });
  }
  return agents;
}

/** The request itself, and the record's place in the hash chain, so an auditor can cite both. */
function requestEntity(record: AuditRecord): AuditEventEntity {
  const detail = [
    ...(record.requestId === '' ? [] : [{ type: 'X-Request-ID', valueString: record.requestId }]),
    ...(record.correlationId === null ? [] : [{ type: 'X-Correlation-ID', valueString: record.correlationId }]),
    { type: 'access-mode', valueString: record.actorMode ?? 'unauthenticated' },
    { type: 'http-status', valueString: String(record.status) },
    { type: 'sequence', valueString: String(record.sequence) },
    { type: 'hash', valueString: record.hash },
    { type: 'previous-hash', valueString: record.prevHash },
  ];
  return { type: OTHER_ENTITY, name: 'request', detail };
}
