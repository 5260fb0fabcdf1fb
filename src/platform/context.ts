// The request context (request id, correlation id, the authenticated actor, the logger) held in
// AsyncLocalStorage, so that no function needs them threaded through its signature (style habit 4).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger } from 'fastify';

/** Who is calling: set by the access decision from the access token, or the system itself. */
export type Actor = {
  /** The access mode the token was issued for (../shared/specs/README.md section 1, access modes); a MESH mailbox signs in with its NHSMESH header instead. */
  mode: 'application-restricted' | 'healthcare-worker' | 'patient' | 'sandbox' | 'system' | 'mesh-mailbox';
  /** The application (API key) that made the call, when there is one. */
  applicationId?: string;
  /** The user's unique id (CIS2 `nhsid_useruid`) for a healthcare worker or a patient's NHS number. */
  userId?: string;
  /** The role profile chosen with `NHSD-Session-URID`. */
  roleProfileId?: string;
  organisationOds?: string;
  activityCodes: string[];
};

/** What a request touched, filled in by handlers, for its audit record. */
export type AuditSubjects = { patientNhsNumbers: Set<string>; resourceIds: Set<string> };

export type RequestContext = {
  requestId: string;
  correlationId: string | undefined;
  actor: Actor | undefined;
  log: FastifyBaseLogger;
  /** The patients and resources this request touched, for its audit record. */
  subjects: AuditSubjects;
  /** Why the request was refused (NHS code and diagnostics), for its audit record. */
  refusal?: string;
};

/** Records who is calling, as soon as it is known, so that even a refusal is audited with them. */
export function noteActor(actor: Actor | undefined): void {
  const context = storage.getStore();
  if (context) context.actor = actor;
}

/** Records why the current request was refused, for its audit record. */
export function noteRefusal(reason: string): void {
  const context = storage.getStore();
  if (context) context.refusal = reason;
}

/** Notes that the current request touched these resources (and patients), for the audit trail. */
export function noteSubjects(subjects: { resourceIds?: string[]; patientNhsNumbers?: string[] }): void {
  const context = storage.getStore();
  if (!context) return;
  for (const id of subjects.resourceIds ?? []) context.subjects.resourceIds.add(id);
  for (const nhsNumber of subjects.patientNhsNumbers ?? []) context.subjects.patientNhsNumbers.add(nhsNumber);
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** The one way to act as OpenSpine itself (seeding, sweeps, migrations); search for it to find every use. */
export const SYSTEM_ACTOR: Actor = Object.freeze({ mode: 'system', activityCodes: [] });

export function asSystem<T>(log: FastifyBaseLogger, work: () => T): T {
  return storage.run({ requestId: 'system', correlationId: undefined, actor: SYSTEM_ACTOR, log, subjects: { patientNhsNumbers: new Set(), resourceIds: new Set() } }, work);
}
