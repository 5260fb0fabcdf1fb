// The EPS FHIR Prescribing and Dispensing APIs at /electronic-prescriptions/FHIR/R4: parse, call
// the operation, reply. User-restricted only (fhir-prescribing.yaml: "Dispensing functionality can
// only be accessed using the user-restricted access mode"); every call audited with its patient.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { currentContext, noteSubjects } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { ADMIN_SCOPE, type AccessRule } from '../platform/http/access.ts';
import { Errors } from '../platform/errors.ts';
import { FHIR_JSON } from '../platform/http/errors.ts';
import { cancel } from './cancel.ts';
import { registerPrescriberCertificate } from './certificates.ts';
import { convertToHl7v3 } from './convert/convert.ts';
import { claim, dispenseNotification, taskUpdate } from './dispense.ts';
import { EpsErrors } from './errors.ts';
import { readMessage } from './fhir-read.ts';
import { messageEventOf } from './order.ts';
import { prepare, PRESCRIBING_ACTIVITIES, processOrder } from './prescribe.ts';
import { DISPENSING_ACTIVITIES, readReleaseRequest, rebuildRelease, release, assertActsForPharmacy } from './release.ts';
import { once, requestKey, type Answer, type Rebuild } from './request-log.ts';
import { trackPrescriptions } from './tracker.ts';
import { validateMessage } from './validate.ts';
import { epsCapability } from './capability.ts';

/**
 * fhir-dispensing.yaml: "Must be a universally unique identifier (UUID) (ideally version 4) formatted
 * using numbers and lower case alphabetic characters", "Required in all environments except sandbox".
 * A retry re-sends the same value: a write gets its first answer again (src/eps/request-log.ts).
 */
export function assertRequestId(requestId: string | string[] | undefined): void {
  if (requestId === undefined) throw Errors.missingValue('Invalid request with error - X-Request-ID header must be supplied to access this resource', 'X-Request-ID');
  if (typeof requestId !== 'string' || requestId !== requestId.toLowerCase()) {
    throw Errors.invalidValue(`Invalid value - '${String(requestId)}' in header 'X-Request-ID': a UUID in lower case is required`, 'X-Request-ID');
  }
}

export const EPS_BASE = '/electronic-prescriptions/FHIR/R4';
const EPS_ADMIN_BASE = '/electronic-prescriptions/admin';

const PRESCRIBING: AccessRule = { modes: ['healthcare-worker'], activities: PRESCRIBING_ACTIVITIES };
const DISPENSING: AccessRule = { modes: ['healthcare-worker'], activities: DISPENSING_ACTIVITIES };
/** $process-message carries both prescribing and dispensing messages; each event checks its own role. */
const MESSAGING: AccessRule = { modes: ['healthcare-worker'], activities: [...PRESCRIBING_ACTIVITIES, ...DISPENSING_ACTIVITIES] };
/** The tracker grants access to a role with B0570 or B0278 (../shared/specs/README.md section 6). */
const TRACKING: AccessRule = { modes: ['healthcare-worker'], activities: ['B0570', 'B0278'] };

export function registerEpsRoutes(app: FastifyInstance, deps: { db: Database; sandbox: boolean; publicBaseUrl: string }): void {
  const { db, sandbox, publicBaseUrl } = deps;
  const actor = () => currentContext()?.actor;
  /** A write, made once per X-Request-ID, answered and audited with its patients and prescriptions. */
  const answerOnce = async (request: FastifyRequest, reply: FastifyReply, interaction: string, write: () => Promise<Answer>, rebuild?: Rebuild) => {
    const caller = actor();
    const key = requestKey(request.headers['x-request-id'], caller?.userId ?? caller?.applicationId ?? caller?.mode ?? 'anonymous', interaction, request.body);
    const answer = await once(db, key, write, rebuild);
    noteSubjects({ patientNhsNumbers: answer.patients, resourceIds: answer.shortIds.map((id) => `Prescription/${id}`) });
    return reply.status(answer.status).type(FHIR_JSON).send(answer.response);
  };

  app.register(async (eps) => {
    // X-Request-ID is required outside the sandbox (fhir-dispensing.yaml, parameter RequestID), a UUID
    // in lower case: the platform (nhs-headers.ts) checks that it is a UUID and echoes it back.
    eps.addHook('onRequest', async (request) => {
      if (!sandbox && request.routeOptions.url !== `${EPS_BASE}/metadata`) assertRequestId(request.headers['x-request-id']);
    });

    eps.get(`${EPS_BASE}/metadata`, { config: { access: { public: true } } }, async (_request, reply) => reply.type(FHIR_JSON).send(epsCapability(publicBaseUrl + EPS_BASE)));

    eps.post(`${EPS_BASE}/$prepare`, { config: { access: PRESCRIBING, interaction: 'prepare' } }, async (request, reply) => {
      const { bundle, event } = readMessage(() => messageEventOf(request.body));
      if (event !== 'prescription-order') throw EpsErrors.unsupportedMessage(event);
      const prepared = await prepare({ db, sandbox }, bundle);
      noteSubjects({ patientNhsNumbers: prepared.patients, resourceIds: prepared.shortIds.map((id) => `Prescription/${id}`) });
      return reply.type(FHIR_JSON).send(prepared.parameters);
    });

    eps.post(`${EPS_BASE}/$process-message`, { config: { access: MESSAGING, interaction: 'process-message' } }, async (request, reply) => {
      const { bundle, event } = readMessage(() => messageEventOf(request.body));
      return answerOnce(request, reply, `process-message ${event}`, async () => {
        switch (event) {
          case 'prescription-order':
            return processOrder({ db, sandbox }, bundle, actor());
          case 'prescription-order-update':
            return cancel({ db, sandbox }, bundle, actor());
          case 'dispense-notification':
            return dispenseNotification({ db, sandbox }, bundle, actor());
          default:
            throw EpsErrors.unsupportedMessage(event);
        }
      });
    });

    // Checks a message as its endpoint would, changing nothing: nothing to make once per X-Request-ID;
    // audited with the patient the message names.
    eps.post(`${EPS_BASE}/$validate`, { config: { access: MESSAGING, interaction: 'validate' } }, async (request, reply) => {
      const validated = validateMessage(request.body);
      noteSubjects({ patientNhsNumbers: validated.patients });
      return reply.type(FHIR_JSON).send(validated.outcome);
    });

    // The HL7 v3 message EPS would send for a FHIR message: read and checked, never stored, so
    // nothing to make once per X-Request-ID; audited with the message's patients.
    eps.post(`${EPS_BASE}/$convert`, { config: { access: MESSAGING, interaction: 'convert' } }, async (request, reply) => {
      const { xml, patientNhsNumbers } = readMessage(() => convertToHl7v3(request.body, actor()));
      noteSubjects({ patientNhsNumbers });
      return reply.type('application/xml').send(xml);
    });

    eps.post(`${EPS_BASE}/Task/$release`, { config: { access: DISPENSING, interaction: 'release' } }, async (request, reply) => {
      const releaseRequest = readMessage(() => readReleaseRequest(request.body));
      assertActsForPharmacy(releaseRequest.ods, actor(), sandbox);
      return answerOnce(request, reply, 'release', () => release(db, releaseRequest, actor()), rebuildRelease(db));
    });

    // Return (status rejected) and withdraw (code abort) of a released prescription.
    eps.post(`${EPS_BASE}/Task`, { config: { access: DISPENSING, interaction: 'task' } }, async (request, reply) =>
      answerOnce(request, reply, 'task', () => taskUpdate({ db, sandbox }, request.body, actor())));

    eps.post(`${EPS_BASE}/Claim`, { config: { access: DISPENSING, interaction: 'claim' } }, async (request, reply) =>
      answerOnce(request, reply, 'claim', () => claim({ db, sandbox }, request.body, actor())));

    eps.get(`${EPS_BASE}/Task`, { config: { access: TRACKING, interaction: 'search-type' } }, async (request, reply) => {
      const result = await trackPrescriptions(db, request.query as Record<string, string | string[] | undefined>);
      noteSubjects({ patientNhsNumbers: result.patients, resourceIds: result.shortIds.map((id) => `Prescription/${id}`) });
      return reply.type(FHIR_JSON).send(result.response);
    });
  });

  // OpenSpine's addition: an administrator registers the certificate a prescriber signs with.
  app.put<{ Params: { userId: string }; Body: { certificate: string } }>(
    `${EPS_ADMIN_BASE}/prescribers/:userId/certificates`,
    {
      config: { access: { modes: ['system', 'healthcare-worker', 'application-restricted'], scope: ADMIN_SCOPE }, interaction: 'register-certificate' },
      schema: { body: { type: 'object', additionalProperties: false, required: ['certificate'], properties: { certificate: { type: 'string', minLength: 100, maxLength: 20_000 } } } },
    },
    async (request, reply) => {
      const fingerprint = await registerPrescriberCertificate(db, request.params.userId, request.body.certificate);
      return reply.send({ userId: request.params.userId, fingerprint });
    },
  );
}
