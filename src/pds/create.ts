// POST /Patient: a new record with a newly allocated NHS number, unless the demographics already
// match a record (SINGLE_MATCH or MULTIPLE_MATCHES, with HTTP 200).
// ../shared/specs/pds/specification/components/paths/patient-create.yaml
import type { Patient } from '@medplum/fhirtypes';
import type { Database } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import { validationIssues } from '../platform/fhir/validate.ts';
import { NHS_NUMBER_SYSTEM, randomNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { PdsErrors } from './errors.ts';
import { PATIENT_DEFINITION } from './patient-definition.ts';
import { searchKeysOf } from './search-keys.ts';
import { findCandidates, firstFreeNumber, readPatient, writePatient, type PatientRow } from './store.ts';

/** The fields of PatientCreateRequest; anything else is refused as an additional property. */
const ALLOWED = new Set(['resourceType', 'name', 'gender', 'birthDate', 'address', 'telecom', 'extension']);
const REQUIRED = ['name', 'gender', 'birthDate', 'address'] as const;
/**
 * A new record's gender: PDS refuses 'other' here though its search and read know it, as the NHS's
 * own create tests show (karate-tests .../createPatient: "Invalid value - 'other' in field 'gender'").
 */
const CREATE_GENDERS = ['male', 'female', 'unknown'];
/** Tries at allocating an unused NHS number before giving up (each try is a fresh random number). */
const ALLOCATION_TRIES = 20;

/** `preferredNumbers` are allocated first while free (the sandbox's fixed sequence), then random ones. */
export async function createPatient(db: Database, body: unknown, preferredNumbers: readonly string[] = []): Promise<PatientRow> {
  const request = readCreateRequest(body);
  const keys = searchKeysOf(request);
  const matches = await findCandidates(db, {
    family: { kind: 'exact', value: keys.family },
    ...(keys.birthDate ? { birthDate: { kind: 'range', from: keys.birthDate, to: keys.birthDate } } : {}),
    ...(keys.gender ? { gender: keys.gender } : {}),
    ...(keys.postcode ? { postcode: { kind: 'exact', value: keys.postcode } } : {}),
    excludeRestricted: false,
    limit: 2,
  });
  const [first] = matches;
  if (first) throw matches.length === 1 ? PdsErrors.singleMatch(first.nhsNumber) : PdsErrors.multipleMatches();
  const preferred = await firstFreeNumber(db, preferredNumbers);
  for (let attempt = 0; attempt < ALLOCATION_TRIES; attempt++) {
    const nhsNumber = attempt === 0 && preferred !== undefined ? preferred : randomNhsNumber('9');
    const record: Patient = { ...request, identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber }] };
    if (await writePatient(db, { nhsNumber, versionId: 1, lastUpdated: new Date(), record, restricted: false, keys }, 'new')) {
      const row = await readPatient(db, nhsNumber);
      if (row) return row;
    }
  }
  throw Errors.unavailable('No unused NHS number could be allocated; try again', 1);
}

function readCreateRequest(body: unknown): Patient {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw Errors.malformedBody('The body must be a patient in JSON');
  for (const key of Object.keys(body)) if (!ALLOWED.has(key)) throw PdsErrors.additionalProperty(key);
  const request = { ...(body as Patient), resourceType: 'Patient' } as Patient;
  if ((body as { resourceType?: unknown }).resourceType !== undefined && (body as { resourceType?: unknown }).resourceType !== 'Patient') {
    throw PdsErrors.invalidValue(String((body as { resourceType?: unknown }).resourceType), 'resourceType');
  }
  for (const field of REQUIRED) if (request[field] === undefined) throw PdsErrors.missingValue(`Missing value - '${field}'`);
  if (!request.name?.some((name) => name.family)) throw PdsErrors.missingValue("Missing value - 'name/0/family'");
  if (!CREATE_GENDERS.includes(String(request.gender))) throw PdsErrors.invalidValue(String(request.gender), 'gender');
  const issues = validationIssues(PATIENT_DEFINITION, request);
  if (issues.length > 0) throw Errors.invalidResource(issues);
  return request;
}
