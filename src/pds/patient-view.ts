// A record as PDS serves it: the NHS number as its id, meta with the version and the
// confidentiality label, and for a restricted patient no address, telecom, contact or GP.
import type { Patient } from '@medplum/fhirtypes';
import type { PatientRow } from './store.ts';

const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

export function servedPatient(row: PatientRow): Patient {
  const { resourceType: _type, id: _id, meta: _meta, address, telecom, contact, generalPractitioner, ...rest } = JSON.parse(row.record) as Patient;
  const label = row.restricted ? { system: CONFIDENTIALITY, code: 'R', display: 'restricted' } : { system: CONFIDENTIALITY, code: 'U', display: 'unrestricted' };
  return {
    resourceType: 'Patient',
    id: row.nhsNumber,
    meta: { versionId: String(row.versionId), security: [label] },
    ...rest,
    ...(row.restricted ? {} : { address, telecom, contact, generalPractitioner }),
  };
}
