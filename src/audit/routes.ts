// The auditors' FHIR API: search and read AuditEvent. Searching the trail needs the audit scope,
// and is itself audited by the platform's audit hook, as every non-public route is.
import type { FastifyInstance } from 'fastify';
import { noteSubjects } from '../platform/context.ts';
import type { QueryValues } from '../platform/fhir/search-query.ts';
import { AUDIT_SCOPE, type AccessRule } from '../platform/http/access.ts';
import type { ServiceDeps } from '../platform/http/app.ts';
import { FHIR_JSON } from '../platform/http/errors.ts';
import { toAuditEvent } from './audit-event.ts';
import type { AuditRecord } from './chain.ts';
import { auditSearchsetJson, readAuditRecord, searchAuditTrail } from './search.ts';

export const AUDIT_BASE = '/audit/FHIR/R4';

const AUDITOR: AccessRule = { modes: ['healthcare-worker', 'application-restricted', 'system'], scope: AUDIT_SCOPE };

export function registerAuditRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  const baseUrl = deps.config.publicBaseUrl + AUDIT_BASE;

  app.get(`${AUDIT_BASE}/AuditEvent`, { config: { access: AUDITOR, interaction: 'search-type' } }, async (request, reply) => {
    const result = await searchAuditTrail(deps.db, request.query as QueryValues);
    // The patients searched for are noted even when nothing is found: the looking is what is audited.
    noteSubjects({ patientNhsNumbers: result.search.patients });
    noteSeen(result.records);
    return reply.type(FHIR_JSON).send(auditSearchsetJson({ ...result, baseUrl, query: request.url.split('?')[1] ?? '' }));
  });

  app.get<{ Params: { id: string } }>(`${AUDIT_BASE}/AuditEvent/:id`, { config: { access: AUDITOR, interaction: 'read' } }, async (request, reply) => {
    const record = await readAuditRecord(deps.db, request.params.id);
    noteSeen([record]);
    return reply.type(FHIR_JSON).send(toAuditEvent(record));
  });
}

/** Audit records name patients, so the auditor who reads them has seen those patients' data. */
function noteSeen(records: AuditRecord[]): void {
  noteSubjects({
    patientNhsNumbers: records.flatMap((record) => record.patientNhsNumbers),
    resourceIds: records.map((record) => `AuditEvent/${record.sequence}`),
  });
}
