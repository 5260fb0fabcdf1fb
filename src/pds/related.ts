// A patient's related people (`GET /Patient/{id}/RelatedPerson`) and EHIC coverage
// (`GET /Coverage?subscriber:identifier=`), as the PDS FHIR API serves them
// (../shared/specs/pds/specification/components/paths/relatedpersons-get.yaml, coverage-get.yaml).
import type { Bundle, Coverage, RelatedPerson } from '@medplum/fhirtypes';
import type { Queryable } from '../platform/db/connect.ts';
import { NHS_NUMBER_SYSTEM } from '../platform/identifiers/nhs-number.ts';
import { coverageOf, readPatient, relatedPeopleOf, type PatientRow } from './store.ts';

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
  return { resourceType: 'Bundle', type: 'searchset', timestamp: new Date().toISOString(), total: entry.length, entry };
}

export async function coverageBundle(db: Queryable, patient: PatientRow, baseUrl: string): Promise<Bundle<Coverage>> {
  const record = await coverageOf(db, patient.nhsNumber);
  const entry = record ? [{ fullUrl: `${baseUrl}/Coverage/${patient.nhsNumber}`, resource: { ...(JSON.parse(record) as Coverage), id: patient.nhsNumber } }] : [];
  return { resourceType: 'Bundle', type: 'searchset', timestamp: new Date().toISOString(), total: entry.length, entry };
}
