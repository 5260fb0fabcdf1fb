// Prescribing: $prepare gives the digest a prescriber signs; a signed prescription-order becomes a
// prescription To Be Dispensed (0001) once its prescriber, signature and ids are checked
// (fhir-prescribing.yaml, $prepare and $process-message#prescription-order).
import type { X509Certificate } from 'node:crypto';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { nominatedPharmacyOf } from '../pds/index.ts';
import { EpsErrors } from './errors.ts';
import { readMessage } from './fhir-read.ts';
import { expiryOf } from './expiry.ts';
import { readPrescriptionOrder } from './order.ts';
import type { Answer } from './request-log.ts';
import { NOT_REGISTERED, parsedCertificate, prepareParameters, signatureOf, verifyOrderSignature } from './signature.ts';
import { fingerprintOf } from './certificates.ts';
import { certificatesOf, insertPrescription, prescriptionExists } from './store.ts';

/** Activities that make a role a prescriber (../shared/specs/README.md section 6). */
export const PRESCRIBING_ACTIVITIES = ['B0278', 'B0420', 'B0058'];

export type PrescribeDeps = { db: Database; sandbox: boolean; now?: () => Date };

/** $prepare: the SignedInfo to sign, after the same structural checks an order gets. */
export async function prepare(deps: PrescribeDeps, bundle: Bundle): Promise<{ parameters: ReturnType<typeof prepareParameters>; patients: string[]; shortIds: string[] }> {
  const order = readMessage(() => readPrescriptionOrder(bundle));
  if (await prescriptionExists(deps.db, order.shortId, order.longId)) throw EpsErrors.duplicatePrescriptionId(order.shortId);
  return { parameters: prepareParameters(bundle, deps.now?.() ?? new Date()), patients: [order.patientNhsNumber], shortIds: [order.shortId] };
}

/** $process-message#prescription-order: checks and stores a signed prescription. */
export async function processOrder(deps: PrescribeDeps, bundle: Bundle, actor: Actor | undefined): Promise<Answer> {
  const now = deps.now?.() ?? new Date();
  const order = readMessage(() => readPrescriptionOrder(bundle));
  // The NHS sandbox checks neither who sent a prescription nor its signature; neither does ours.
  let signedWith: X509Certificate | undefined;
  if (!deps.sandbox) {
    assertIsThePrescriber(order, actor);
    const signature = signatureOf(bundle);
    signedWith = signature?.certificate;
    // A certificate in KeyInfo is checked against the registered ones by the insert below, in its
    // round trip; without one, the signature may have been made with any registered certificate.
    const certificates = signedWith ? [signedWith] : (await certificatesOf(deps.db, order.userId)).map((pem) => parsedCertificate(pem));
    verifyOrderSignature(bundle, signature, certificates, now);
  }
  // A prescription without a nominated pharmacy goes to the one on the patient's PDS record, if any.
  const nominatedOds = order.nominatedOds ?? (await nominatedPharmacyOf(deps.db, order.patientNhsNumber));
  const prescribed = { shortId: order.shortId, issueNumber: 1, event: 'prescribed', status: '0001', actorUserId: order.userId, actorOds: order.prescriberOds, messageId: bundle.identifier?.value };
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', meta: { lastUpdated: now.toISOString() }, issue: [{ severity: 'information', code: 'informational' }] };
  const answer = { status: 200, response: outcome, patients: [order.patientNhsNumber], shortIds: [order.shortId] };
  const signer = signedWith && { userId: order.userId, fingerprint: fingerprintOf(signedWith) };
  const stored = await insertPrescription(deps.db, { order, nominatedOds, bundle, expiresAt: expiryOf(order, now), event: prescribed, answer, signer });
  if (stored === 'unregistered') throw EpsErrors.signatureInvalid(NOT_REGISTERED);
  if (stored === 'taken') throw EpsErrors.duplicatePrescriptionId(order.shortId);
  return answer;
}

/**
 * The caller must be the prescriber the bundle names: the role profile chosen for the session, the
 * person holding it, and its organisation. Its activities were checked by the route's access rule.
 */
export function assertIsThePrescriber(order: { roleProfileId: string; userId: string; prescriberOds: string }, actor: Actor | undefined): void {
  if (!actor || actor.mode !== 'healthcare-worker') throw EpsErrors.notPrescriber('Prescribing is for healthcare workers in a prescriber role (user-restricted access only)');
  if (!PRESCRIBING_ACTIVITIES.some((code) => actor.activityCodes.includes(code))) throw EpsErrors.notPrescriber('The role profile in use is not a prescriber role');
  if (actor.roleProfileId !== order.roleProfileId) {
    throw EpsErrors.notPrescriber(`The requester's role profile '${order.roleProfileId}' is not the one in use for this session ('${actor.roleProfileId ?? ''}')`);
  }
  if (actor.userId !== order.userId) throw EpsErrors.notPrescriber(`The requester's user id '${order.userId}' is not the signed-in user's`);
  if (actor.organisationOds !== order.prescriberOds) {
    throw EpsErrors.notPrescriber(`The requester's organisation '${order.prescriberOds}' is not the organisation of the role profile in use ('${actor.organisationOds ?? ''}')`);
  }
}
