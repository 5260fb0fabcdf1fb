// A Task/$release Parameters as the HL7 v3 release request: PORX_IN132004SM30 for one prescription
// by its id (examples/**/N-Convert-Response-Release-200_OK.xml from N-Task-Request-Release-200_OK.json),
// PORX_IN060102SM30 for the prescriptions nominated to the pharmacy.
import { randomUUID } from 'node:crypto';
import type { Organization, Parameters } from '@medplum/fhirtypes';
import { EpsErrors } from '../errors.ts';
import { readReleaseRequest } from '../release.ts';
import { dispenser } from './dispenser.ts';
import { hl7Time, prescriptionIdObservation, uuidId } from './hl7.ts';
import { el, type XmlNode } from './xml.ts';

const PATIENT_RELEASE_INTERACTION = 'PORX_IN132004SM30';
const NOMINATED_RELEASE_INTERACTION = 'PORX_IN060102SM30';

/**
 * The release request, made now. A Parameters has no id of its own: the request's id and its
 * message's are new ones (they differ in every Release example). The pharmacist releasing (the
 * 'agent') is its author; a release of one prescription may leave them out, as POST
 * Task/$release may.
 */
export function releaseRequest(body: unknown, now: Date): { interaction: string; messageId: string; payload: XmlNode } {
  const { shortId } = readReleaseRequest(body);
  const parameters = (body as Parameters).parameter ?? [];
  const pharmacy = parameters.find((parameter) => parameter.name === 'owner')?.resource as Organization;
  const role = parameters.find((parameter) => parameter.name === 'agent')?.resource;
  if (role !== undefined ? role.resourceType !== 'PractitionerRole' : shortId === undefined) {
    throw EpsErrors.invalidMessage("The 'agent' parameter must be the PractitionerRole releasing", "Parameters.parameter.where(name='agent')");
  }
  const payload = el(shortId === undefined ? 'NominatedPrescriptionReleaseRequest' : 'PatientPrescriptionReleaseRequest', { classCode: 'INFO', moodCode: 'RQO' }, [
    uuidId(randomUUID()),
    el('effectiveTime', { value: hl7Time(now) }),
    role?.resourceType === 'PractitionerRole' && el('author', { typeCode: 'AUT' }, [dispenser(role, pharmacy, 'PractitionerRole')]),
    shortId !== undefined && prescriptionIdObservation('pertinentInformation', shortId),
  ]);
  return { interaction: shortId === undefined ? NOMINATED_RELEASE_INTERACTION : PATIENT_RELEASE_INTERACTION, messageId: randomUUID(), payload };
}
