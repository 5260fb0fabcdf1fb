// A patient's related people (`GET /Patient/{id}/RelatedPerson`) and EHIC coverage
// (`GET /Coverage?subscriber:identifier=`), as the PDS FHIR API serves them
// (../shared/specs/pds/specification/components/paths/relatedpersons-get.yaml, coverage-get.yaml).
import type { Bundle, Coverage, RelatedPerson } from '@medplum/fhirtypes';
import { inTransaction } from '../platform/fhir/resources.ts';
import { isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { PdsErrors } from './errors.ts';
import type { Queryable } from '../platform/db/connect.ts';
import { NHS_NUMBER_SYSTEM } from '../platform/identifiers/nhs-number.ts';
import { searchset } from './searchset.ts';
import { bumpVersion, coverageOf, readPatient, relatedPeopleOf, setCoverage, type PatientRow } from './store.ts';

/** A restricted patient's related people are not given; a related person who is a restricted patient loses address and telecom. */
export async function relatedPeopleBundle(db: Queryable, patient: PatientRow, baseUrl: string): Promise<Bundle<RelatedPerson>> {
  const people = patient.restricted ? [] : await relatedPeopleOf(db, patient.nhsNumber);
  const entry = await Promise.all(
    people.map(async ({ id, record }) => {
      const person = { ...(JSON.parse(record) as RelatedPerson), resourceType: 'RelatedPerson' as const, id };
      const theirNumber = person.identifier?.find((identifier) => identifier.system === NHS_NUMBER_SYSTEM)?.value;
      const themselves = theirNumber ? await readPatient(db, theirNumber) : undefined;
      if (themselves?.restricted) {
        delete person.address;
        delete person.telecom;
      }
      return { fullUrl: `${baseUrl}/Patient/${patient.nhsNumber}/RelatedPerson/${id}`, resource: person };
    }),
  );
  return searchset(entry);
}

export async function coverageBundle(db: Queryable, patient: PatientRow, baseUrl: string): Promise<Bundle<Coverage>> {
  const record = await coverageOf(db, patient.nhsNumber);
  return coverageBundleOf(patient, record === undefined ? undefined : (JSON.parse(record) as Coverage), baseUrl);
}

export function coverageBundleOf(patient: PatientRow, coverage: Coverage | undefined, baseUrl: string): Bundle<Coverage> {
  return searchset(coverage ? [{ fullUrl: `${baseUrl}/Coverage/${patient.nhsNumber}`, resource: { ...coverage, id: patient.nhsNumber } }] : []);
}

/** The subscriber's NHS number of a coverage to post, after checking what PDS requires of an EHIC record. */
export function checkedCoverage(body: unknown): { coverage: Coverage; nhsNumber: string } {
  const coverage = body as Coverage | null;
  if (typeof body !== 'object' || body === null || coverage?.resourceType !== 'Coverage') throw PdsErrors.invalidValue(String(coverage?.resourceType), 'resourceType');
  if (coverage.status !== 'active') throw PdsErrors.invalidValue(String(coverage.status), 'status');
  const nhsNumber = coverage.subscriber?.identifier?.value ?? '';
  if (!isValidNhsNumber(nhsNumber)) throw PdsErrors.invalidNhsNumber();
  if (!coverage.identifier?.[0]?.value) throw PdsErrors.missingValue("Missing value - 'identifier/0/value' (the EHIC card number)");
  if (!coverage.payor?.[0]?.identifier?.value) throw PdsErrors.missingValue("Missing value - 'payor/0/identifier/value' (the institution id)");
  if (!coverage.beneficiary?.identifier?.value) throw PdsErrors.missingValue("Missing value - 'beneficiary/identifier/value' (the personal id)");
  return { coverage, nhsNumber };
}

/**
 * Replaces the patient's EHIC record over the version named in If-Match; the record's new version.
 * With `keep` false (the sandbox's fixed patients) the version is checked and the answer given, but nothing is written.
 */
export async function saveCoverage(db: Queryable, patient: PatientRow, coverage: Coverage, expected: number, keep = true): Promise<number> {
  if (!keep) {
    if (patient.versionId !== expected) throw PdsErrors.versionMismatch(patient.versionId);
    return patient.versionId + 1;
  }
  return inTransaction(db, async (tx) => {
    const version = await bumpVersion(tx, patient.nhsNumber, expected);
    if (version === undefined) throw PdsErrors.versionMismatch(patient.versionId);
    await setCoverage(tx, patient.nhsNumber, coverage);
    return version;
  });
}
