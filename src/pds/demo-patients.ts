// Demo patients under the NHS numbers of the PDS sandbox, so that requests written against the
// NHS sandbox work here too: 9000000009 (full record), 9000000025 (restricted), 9000000033
// (minimal), 9000000017 (a Smyth who fuzzy-matches Smith), 9000000041 (invalidated) and
// 9000000068 (superseded by 9000000009), with related people and EHIC coverage as the sandbox
// describes them. 9111231130 is valid but unknown (404).
import type { Patient } from '@medplum/fhirtypes';
import type { Database } from '../platform/db/connect.ts';
import { NHS_NUMBER_SYSTEM } from '../platform/identifiers/nhs-number.ts';
import { ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';
import { searchKeysOf } from './search-keys.ts';
import { addRelatedPerson, markInvalidated, markSuperseded, readPatient, setCoverage, writePatient } from './store.ts';

const identifier = (nhsNumber: string) => [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber }];
const gp = (ods: string): NonNullable<Patient['generalPractitioner']> => [{ id: 'gp-1', type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: ods } }];

type Demo = { nhsNumber: string; record: Patient; restricted?: boolean; version?: number };

const DEMO_PATIENTS: Demo[] = [
  {
    nhsNumber: '9000000009',
    version: 2,
    record: {
      resourceType: 'Patient',
      identifier: identifier('9000000009'),
      name: [{ id: 'name-1', use: 'usual', given: ['Jane'], family: 'Smith', prefix: ['Mrs'] }],
      gender: 'female',
      birthDate: '2010-10-22',
      address: [{ id: 'address-1', use: 'home', line: ['1 Trevelyan Square', 'Boar Lane', 'Leeds'], postalCode: 'LS1 6AE' }],
      telecom: [{ id: 'telecom-1', system: 'phone', value: '01632960587', use: 'home' }, { id: 'telecom-2', system: 'email', value: 'jane.smith@example.com', use: 'home' }],
      generalPractitioner: gp('A83008'),
    },
  },
  {
    nhsNumber: '9000000017',
    record: {
      resourceType: 'Patient',
      identifier: identifier('9000000017'),
      name: [{ id: 'name-1', use: 'usual', given: ['Jayne'], family: 'Smyth' }],
      gender: 'female',
      birthDate: '2010-10-22',
      address: [{ id: 'address-1', use: 'home', line: ['2 Park Row', 'Leeds'], postalCode: 'LS1 5HD' }],
      generalPractitioner: gp('A83008'),
    },
  },
  {
    nhsNumber: '9000000025',
    restricted: true,
    version: 2,
    record: {
      resourceType: 'Patient',
      identifier: identifier('9000000025'),
      name: [{ id: 'name-1', use: 'usual', given: ['Janet'], family: 'Smythe' }],
      gender: 'female',
      birthDate: '2005-06-16',
      address: [{ id: 'address-1', use: 'home', line: ['A secret place'], postalCode: 'LS1 6AE' }],
      generalPractitioner: gp('A83008'),
    },
  },
  {
    nhsNumber: '9000000033',
    record: { resourceType: 'Patient', identifier: identifier('9000000033'), name: [{ id: 'name-1', use: 'usual', given: ['John'], family: 'Minimal' }], gender: 'male', birthDate: '1990-01-01' },
  },
  {
    nhsNumber: '9000000041',
    record: { resourceType: 'Patient', identifier: identifier('9000000041'), name: [{ id: 'name-1', use: 'usual', given: ['Void'], family: 'Invalid' }], gender: 'unknown', birthDate: '2000-01-01' },
  },
  {
    nhsNumber: '9000000068',
    record: { resourceType: 'Patient', identifier: identifier('9000000068'), name: [{ id: 'name-1', use: 'usual', given: ['Jane'], family: 'Smith' }], gender: 'female', birthDate: '2010-10-22' },
  },
];

const relationship = (code: string, display: string) => [{ coding: [{ system: 'https://fhir.nhs.uk/R4/CodeSystem/UKCore-AdditionalRelatedPersonRole', code, display }] }];

/** Related people: two for 9000000009 (one of them the restricted 9000000025), one for 9000000017. */
const DEMO_RELATED_PEOPLE: [nhsNumber: string, id: string, person: object][] = [
  ['9000000009', 'RP000001', { resourceType: 'RelatedPerson', active: true, patient: { identifier: { system: NHS_NUMBER_SYSTEM, value: '9000000009' } }, relationship: relationship('Guardian', 'Guardian of patient'), name: [{ use: 'usual', given: ['Sam'], family: 'Smith' }], telecom: [{ system: 'phone', value: '01632960123', use: 'home' }] }],
  ['9000000009', 'RP000002', { resourceType: 'RelatedPerson', active: true, identifier: identifier('9000000025'), patient: { identifier: { system: NHS_NUMBER_SYSTEM, value: '9000000009' } }, relationship: relationship('N', 'Next-of-Kin'), name: [{ use: 'usual', given: ['Janet'], family: 'Smythe' }], address: [{ use: 'home', line: ['A secret place'] }] }],
  ['9000000017', 'RP000003', { resourceType: 'RelatedPerson', active: true, patient: { identifier: { system: NHS_NUMBER_SYSTEM, value: '9000000017' } }, relationship: relationship('Guardian', 'Guardian of patient'), name: [{ use: 'usual', given: ['Alex'], family: 'Smyth' }] }],
];

/** A European Health Insurance Card for 9000000009. */
const DEMO_COVERAGE = {
  resourceType: 'Coverage',
  status: 'active',
  beneficiary: { identifier: { system: NHS_NUMBER_SYSTEM, value: '9000000009' } },
  subscriber: { identifier: { system: NHS_NUMBER_SYSTEM, value: '9000000009' } },
  payor: [{ identifier: { system: 'https://fhir.nhs.uk/Id/eu-ehic-institution-id', value: '1234-NHS' } }],
  identifier: [{ system: 'https://fhir.nhs.uk/Id/eu-ehic-personal-id', value: '0123456789' }],
  period: { end: '2030-12-31' },
};

/** Loads the demo patients that are not there yet; running it twice changes nothing. */
export async function seedDemoPatients(db: Database): Promise<number> {
  let created = 0;
  for (const demo of DEMO_PATIENTS) {
    if (await readPatient(db, demo.nhsNumber)) continue;
    await writePatient(db, { nhsNumber: demo.nhsNumber, versionId: demo.version ?? 1, lastUpdated: new Date(), record: demo.record, restricted: demo.restricted ?? false, keys: searchKeysOf(demo.record) });
    created++;
  }
  await markInvalidated(db, '9000000041');
  await markSuperseded(db, '9000000068', '9000000009');
  for (const [nhsNumber, id, person] of DEMO_RELATED_PEOPLE) await addRelatedPerson(db, nhsNumber, id, person);
  await setCoverage(db, '9000000009', DEMO_COVERAGE);
  return created;
}
