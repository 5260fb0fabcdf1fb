// The request context (request id, correlation id, the authenticated actor, the logger) held in
// AsyncLocalStorage, so that no function needs them threaded through its signature (style habit 4).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger } from 'fastify';

/** Who is calling: set by the access decision from the access token, or the system itself. */
export type Actor = {
  /** The access mode the token was issued for (../shared/specs/README.md section 1, access modes). */
  mode: 'application-restricted' | 'healthcare-worker' | 'patient' | 'sandbox' | 'system';
  /** The application (API key) that made the call, when there is one. */
  applicationId?: string;
  /** The user's unique id (CIS2 `nhsid_useruid`) for a healthcare worker or a patient's NHS number. */
  userId?: string;
  /** The role profile chosen with `NHSD-Session-URID`. */
  roleProfileId?: string;
  organisationOds?: string;
  activityCodes: string[];
};

export type RequestContext = {
  requestId: string;
  correlationId: string | undefined;
  actor: Actor | undefined;
  log: FastifyBaseLogger;
};

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
  return storage.run({ requestId: 'system', correlationId: undefined, actor: SYSTEM_ACTOR, log }, work);
}
