// Helpers for the EPS tests: the spec's example messages made fresh (new prescription ids, a new
// patient, our own test prescriber and pharmacy), prescribers and pharmacists with tokens, and
// signing through $prepare with the demo key, as a prescribing system would.
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, MedicationRequest, Parameters } from '@medplum/fhirtypes';
import type { TestApp } from '../../test/support/app.ts';
import { savePerson, saveRoleProfile } from '../identity/index.ts';
import type { Actor } from '../platform/context.ts';
import { randomNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { registerPrescriberCertificate } from './certificates.ts';
import { DEMO_PRESCRIBER_CERTIFICATE, DEMO_PRESCRIBER_PRIVATE_KEY } from './demo-signing-key.ts';
import { generateLongForm, generateShortForm, LONG_FORM_EXTENSION } from './prescription-id.ts';
import { EPS_BASE } from './routes.ts';
import { signDigest, withProvenance } from './signature.ts';

export const EXAMPLES = path.resolve(import.meta.dirname, '../../../shared/specs/eps/examples');
export const PRESCRIBER_ODS = 'A83008';
/** The prescription id and patient the spec's dispensing examples name, replaced by a test's own. */
export const EXAMPLE_ID = '24F5DA-A83008-7EFE6Z';
export const EXAMPLE_PATIENT = '9449304130';

export function loadExample<T = Bundle>(relative: string): T {
  return JSON.parse(readFileSync(path.join(EXAMPLES, relative), 'utf8')) as T;
}

/** `headers` gives a new X-Request-ID each time it is read. */
export type Staff = { userId: string; roleProfileId: string; ods: string; actor: Actor; readonly headers: Record<string, string> };

const twelveDigits = () => String(randomInt(100_000, 999_999)) + String(randomInt(100_000, 999_999));

/** A new person with one role profile at `ods`, and the headers of a session in that role. */
export async function createStaff(t: TestApp, options: { ods: string; activities: string[]; roleCode?: string; certificate?: boolean }): Promise<Staff> {
  const userId = twelveDigits();
  const roleProfileId = twelveDigits();
  await savePerson(t.db, { userId, name: `TEST ${userId}` });
  await saveRoleProfile(t.db, { roleProfileId, userId, orgCode: options.ods, roleCode: options.roleCode ?? 'S8000:G8000:R8000', roleName: 'Test role', activityCodes: options.activities, active: true });
  if (options.certificate) await registerPrescriberCertificate(t.db, userId, DEMO_PRESCRIBER_CERTIFICATE);
  const actor: Actor = { mode: 'healthcare-worker', userId, roleProfileId, activityCodes: options.activities };
  const token = await t.token({ actor });
  return {
    userId, roleProfileId, ods: options.ods, actor,
    // A fresh X-Request-ID each time the headers are taken, as EPS asks of every request.
    get headers() {
      return { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', 'nhsd-session-urid': roleProfileId, 'x-request-id': randomUUID() };
    },
  };
}

export const createPrescriber = (t: TestApp, ods = PRESCRIBER_ODS) => createStaff(t, { ods, activities: ['B0420', 'B0278', 'B0401'], certificate: true });
export const createPharmacist = (t: TestApp, ods: string) => createStaff(t, { ods, activities: ['B0570', 'B0572'], roleCode: 'S8000:G8000:R8003' });
export const randomPharmacyOds = () => `F${String(randomInt(1000, 9999))}`;

export type Fresh = { shortId: string; longId: string; nhsNumber: string };

/**
 * An example prescription made new: fresh ids and patient, the test prescriber as its requester,
 * and nominated to `nominatedOds` (or to no one, with null).
 */
export function freshPrescription(template: Bundle, prescriber: Staff, options: { nominatedOds?: string | null; shortId?: string; nhsNumber?: string; validFrom?: Date } = {}): { bundle: Bundle } & Fresh {
  const bundle = structuredClone(template);
  const shortId = options.shortId ?? generateShortForm(prescriber.ods);
  const longId = generateLongForm();
  const nhsNumber = options.nhsNumber ?? randomNhsNumber();
  bundle.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() };
  bundle.entry = (bundle.entry ?? []).filter((entry) => entry.resource?.resourceType !== 'Provenance');
  for (const entry of bundle.entry) {
    const resource = entry.resource;
    if (resource?.resourceType === 'MedicationRequest') {
      resource.groupIdentifier = { ...resource.groupIdentifier, value: shortId, extension: [{ url: LONG_FORM_EXTENSION, valueIdentifier: { system: 'https://fhir.nhs.uk/Id/prescription', value: longId } }] };
      setNomination(resource, options.nominatedOds);
      makeCurrent(resource, options.validFrom ?? new Date());
    }
    if (resource?.resourceType === 'Patient') resource.identifier = [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber }];
    if (resource?.resourceType === 'PractitionerRole') resource.identifier = [{ system: 'https://fhir.nhs.uk/Id/sds-role-profile-id', value: prescriber.roleProfileId }];
    if (resource?.resourceType === 'Practitioner') resource.identifier = [{ system: 'https://fhir.nhs.uk/Id/sds-user-id', value: prescriber.userId }];
    if (resource?.resourceType === 'Organization') resource.identifier = [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: prescriber.ods }];
  }
  return { bundle, shortId, longId, nhsNumber };
}

const DAY_MS = 24 * 60 * 60 * 1000;
const dateOnly = (date: Date) => date.toISOString().slice(0, 10);

/**
 * The examples were written in 2022: their dates are moved to `from` (authoredOn, a validity period
 * of the same length, a repeat-dispensing authorisation of a year), so they are not born expired.
 */
function makeCurrent(request: MedicationRequest, from: Date): void {
  if (request.authoredOn) request.authoredOn = from.toISOString();
  const period = request.dispenseRequest?.validityPeriod;
  if (request.dispenseRequest && period) {
    const length = period.start && period.end ? Math.max(0, Date.parse(period.end.slice(0, 10)) - Date.parse(period.start.slice(0, 10))) : 28 * DAY_MS;
    request.dispenseRequest = { ...request.dispenseRequest, validityPeriod: { start: dateOnly(from), end: `${dateOnly(new Date(from.getTime() + length))}T23:59:59Z` } };
  }
  for (const extension of request.extension ?? []) {
    for (const inner of extension.extension ?? []) if (inner.url === 'authorisationExpiryDate') inner.valueDateTime = dateOnly(new Date(from.getTime() + 365 * DAY_MS));
  }
}

function setNomination(request: MedicationRequest, ods: string | null | undefined): void {
  if (ods === undefined) return;
  const dispenseRequest = { ...request.dispenseRequest };
  if (ods === null) delete dispenseRequest.performer;
  else dispenseRequest.performer = { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: ods } };
  request.dispenseRequest = dispenseRequest;
}

/** $prepare, then sign the digest with the demo key: the signed bundle a prescribing system sends. */
export async function signThroughPrepare(t: TestApp, bundle: Bundle, headers: Record<string, string>): Promise<Bundle> {
  const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$prepare`, headers, payload: bundle });
  if (response.statusCode !== 200) throw new Error(`$prepare answered ${response.statusCode}: ${response.body}`);
  const parameters = response.json<Parameters>();
  const digest = parameters.parameter?.find((parameter) => parameter.name === 'digest')?.valueString ?? '';
  return withProvenance(bundle, signDigest(digest, DEMO_PRESCRIBER_PRIVATE_KEY, DEMO_PRESCRIBER_CERTIFICATE), new Date().toISOString());
}

/** Prepare, sign and send a prescription; returns the response of $process-message. */
export async function prescribe(t: TestApp, prescriber: Staff, template: Bundle, options: { nominatedOds?: string | null; nhsNumber?: string; validFrom?: Date } = {}) {
  const fresh = freshPrescription(template, prescriber, options);
  const signed = await signThroughPrepare(t, fresh.bundle, prescriber.headers);
  const response = await t.app.inject({ method: 'POST', url: `${EPS_BASE}/$process-message`, headers: prescriber.headers, payload: signed });
  return { ...fresh, signed, response };
}

export function releaseParameters(ods: string, shortId?: string): Parameters {
  const template = loadExample<Parameters>(shortId ? 'spec/dispense/Patient-Request-Release-200_OK.json' : 'spec/dispense/Nominated-Pharmacy-Request-Release-200_OK.json');
  const parameter = (template.parameter ?? []).map((item) => {
    if (item.name === 'owner' && item.resource?.resourceType === 'Organization') return { ...item, resource: { ...item.resource, identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: ods }] } };
    if (item.name === 'group-identifier' && shortId) return { ...item, valueIdentifier: { system: 'https://fhir.nhs.uk/Id/prescription-order-number', value: shortId } };
    return item;
  });
  return { ...template, parameter };
}

/** A JSON value with every occurrence of each `from` string replaced by its `to`. */
export function rewrite<T>(value: T, replacements: Record<string, string>): T {
  let text = JSON.stringify(value);
  for (const [from, to] of Object.entries(replacements)) text = text.split(from).join(to);
  return JSON.parse(text) as T;
}
