// The NHS PDS sandbox's well-known patients, as its spec and Postman collection describe them
// (../shared/specs/pds/specification/components/paths/*.yaml "Sandbox test scenarios",
// ../shared/specs/pds/sandbox/mocks/, ../shared/specs/pds/postman/), loaded in sandbox mode only.
//
// What the NHS sandbox does and OpenSpine's sandbox mode does too:
// - these records are fixed: on every start in sandbox mode they are put back as published, and an
//   update of one (PATCH, POST /Coverage) is checked and answered but not kept ("Your changes are
//   not persisted", patient-patch.yaml), so every client sees them at version 2 as the spec says;
// - a new patient gets the sandbox's first NHS number, 5182663366, then the next valid ones.
import type { Patient } from '@medplum/fhirtypes';
import type { Database } from '../platform/db/connect.ts';
import { NHS_NUMBER_SYSTEM, nhsNumberCheckDigit } from '../platform/identifiers/nhs-number.ts';
import { ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';
import { searchKeysOf } from './search-keys.ts';
import { addPreviousValue, writePatient } from './store.ts';

type SandboxPatient = { nhsNumber: string; version: number; record: Patient; restricted?: boolean; previousEmails?: string[] };

const UK_CORE = 'https://fhir.hl7.org.uk/StructureDefinition';
const UK_CORE_CODES = 'https://fhir.hl7.org.uk/CodeSystem';

const identifier = (nhsNumber: string): NonNullable<Patient['identifier']> => [
  {
    system: NHS_NUMBER_SYSTEM,
    value: nhsNumber,
    extension: [
      {
        url: `${UK_CORE}/Extension-UKCore-NHSNumberVerificationStatus`,
        valueCodeableConcept: { coding: [{ system: `${UK_CORE_CODES}/UKCore-NHSNumberVerificationStatus`, version: '1.0.0', code: '01', display: 'Number present and verified' }] },
      },
    ],
  },
];
const organisation = (ods: string) => ({ identifier: { system: ODS_CODE_SYSTEM, value: ods } });
const coded = (system: string, code: string, display: string) => ({ coding: [{ system, code, display }] });
const home = (id: string, line: string[], postalCode: string, start: string): NonNullable<Patient['address']>[number] => ({ id, use: 'home', period: { start }, line, postalCode });

/**
 * The sandbox's full record, 9000000009 Jane Smith: registered at Y12345, died on the day she was
 * born (2010-10-22, a formal death notice); extensions in the order the spec's PATCH examples
 * address them (/extension/3 the death notice, /4 communication, /5 contact preferences).
 */
function janeSmith(): Patient {
  return {
    resourceType: 'Patient',
    identifier: identifier('9000000009'),
    name: [{ id: '123', use: 'usual', period: { start: '2020-01-01' }, given: ['Jane'], family: 'Smith', prefix: ['Mrs'], suffix: ['MBE'] }],
    gender: 'female',
    birthDate: '2010-10-22',
    multipleBirthInteger: 1,
    deceasedDateTime: '2010-10-22T00:00:00+00:00',
    address: [
      home('456', ['1 Trevelyan Square', 'Boar Lane', 'City Centre', 'Leeds', 'West Yorkshire'], 'LS1 6AE', '2020-01-01'),
      { id: 'T456', use: 'temp', text: 'Student Accommodation', period: { start: '2020-01-01' }, line: ['1 Trevelyan Square', 'Boar Lane', 'City Centre', 'Leeds', 'West Yorkshire'], postalCode: 'LS1 6AE' },
    ],
    telecom: [
      { id: '789', system: 'phone', value: '01632960587', use: 'home', period: { start: '2020-01-01' } },
      { id: '790', system: 'email', value: 'jane.smith@example.com', use: 'home', period: { start: '2020-01-01' } },
    ],
    contact: [{ id: 'C123', period: { start: '2020-01-01' }, relationship: [coded('http://terminology.hl7.org/CodeSystem/v2-0131', 'C', 'Emergency Contact')], telecom: [{ system: 'phone', value: '01632960587' }] }],
    generalPractitioner: [{ id: '254406A3', type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: 'Y12345', period: { start: '2020-01-01' } } }],
    managingOrganization: { type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: 'Y12345' } },
    extension: [
      { url: `${UK_CORE}/Extension-UKCore-NominatedPharmacy`, valueReference: organisation('Y12345') },
      { url: `${UK_CORE}/Extension-UKCore-PreferredDispenserOrganization`, valueReference: organisation('Y23456') },
      { url: `${UK_CORE}/Extension-UKCore-MedicalApplianceSupplier`, valueReference: organisation('Y34567') },
      {
        url: `${UK_CORE}/Extension-UKCore-DeathNotificationStatus`,
        extension: [
          { url: 'deathNotificationStatus', valueCodeableConcept: coded(`${UK_CORE_CODES}/UKCore-DeathNotificationStatus`, '2', 'Formal - death notice received from Registrar of Deaths') },
          { url: 'systemEffectiveDate', valueDateTime: '2010-10-22T00:00:00+00:00' },
        ],
      },
      {
        url: `${UK_CORE}/Extension-UKCore-NHSCommunication`,
        extension: [
          { url: 'language', valueCodeableConcept: coded(`${UK_CORE_CODES}/UKCore-HumanLanguage`, 'fr', 'French') },
          { url: 'interpreterRequired', valueBoolean: true },
        ],
      },
      {
        url: `${UK_CORE}/Extension-UKCore-ContactPreference`,
        extension: [
          { url: 'PreferredWrittenCommunicationFormat', valueCodeableConcept: coded(`${UK_CORE_CODES}/UKCore-PreferredWrittenCommunicationFormat`, '12', 'Braille') },
          { url: 'PreferredContactMethod', valueCodeableConcept: coded(`${UK_CORE_CODES}/UKCore-PreferredContactMethod`, '1', 'Letter') },
          { url: 'PreferredContactTimes', valueString: 'Not after 7pm' },
        ],
      },
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Manchester', district: 'Greater Manchester', country: 'GBR' } },
    ],
  };
}

/** A patient with a usual name, a home address and nothing else but what `more` adds. */
function plain(nhsNumber: string, given: string[], family: string, gender: NonNullable<Patient['gender']>, birthDate: string, address: NonNullable<Patient['address']>[number], more: Partial<Patient> = {}): Patient {
  return { resourceType: 'Patient', identifier: identifier(nhsNumber), name: [{ id: '123', use: 'usual', given, family }], gender, birthDate, address: [address], ...more };
}

const SANDBOX_PATIENTS: SandboxPatient[] = [
  { nhsNumber: '9000000009', version: 2, record: janeSmith() },
  // Jayne Smyth: Jane Smith's namesake whom a fuzzy search for Jane Smith finds too.
  {
    nhsNumber: '9000000017',
    version: 2,
    record: plain('9000000017', ['Jayne'], 'Smyth', 'female', '2010-10-22', home('456', ['1 Trevelyan Square', 'Boar Lane', 'Leeds'], 'LS1 6AE', '2020-01-01'), {
      generalPractitioner: [{ id: '254406A3', type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: 'Y12345' } }],
    }),
  },
  // Janet Smythe, restricted: found by name, never served with address, telecom or GP.
  {
    nhsNumber: '9000000025',
    version: 2,
    restricted: true,
    record: plain('9000000025', ['Janet'], 'Smythe', 'female', '2005-06-16', home('456', ['A secret place'], 'LS1 6AE', '2020-01-01'), {
      telecom: [{ id: '789', system: 'phone', value: '01632960587', use: 'home' }, { id: '790', system: 'email', value: 'janet.smythe@example.com', use: 'home' }],
      generalPractitioner: [{ id: '254406A3', type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: 'Y12345' } }],
    }),
  },
  // The minimal record: an NHS number and nothing else, to add every kind of data to.
  { nhsNumber: '9000000033', version: 2, record: { resourceType: 'Patient', identifier: identifier('9000000033') } },
  // Kathy KNAPP, whom a search with _exact-match=true finds.
  { nhsNumber: '9736363120', version: 1, record: plain('9736363120', ['Kathy', 'Megan'], 'KNAPP', 'female', '1943-07-03', home('znQNN', ['44 Newland Avenue', 'Scunthorpe'], 'DN15 7HQ', '1990-02-05')) },
  // Sam Smith, whose email was Historic@historic.com before it became New@new.com: a search with _history=true finds him by it.
  {
    nhsNumber: '5900020584',
    version: 4,
    record: plain('5900020584', ['Sam', 'Matt'], 'Smith', 'male', '2000-05-05', home('456', ['1 Jasmine Court', 'Scunthorpe'], 'DN17 4AA', '2022-08-24'), {
      telecom: [{ id: '17DACEA4', system: 'phone', value: '0121000222', use: 'home' }, { id: 'C2FDE019', system: 'email', value: 'New@new.com', use: 'home' }],
    }),
    previousEmails: ['Historic@historic.com'],
  },
  // The spec's create examples (PatientCreate/Single_Match_found.json, Multi_Match_found.json) match these.
  { nhsNumber: '5900054586', version: 1, record: plain('5900054586', ['Jane'], 'McMatch-Single', 'female', '1982-07-10', home('978C7701', ['317 Stuart Street', 'Bapchild'], 'BAP 4WG', '2024-05-09')) },
  { nhsNumber: '5900036502', version: 3, record: plain('5900036502', ['Louisa'], 'McMatch-Multiple', 'female', '1982-07-10', home('6ABDA7E2', ['1 Jasmine Court', 'Barton-upon-Humber'], 'DN19 7UD', '2024-03-15')) },
  { nhsNumber: '5900053679', version: 1, record: plain('5900053679', ['Louise'], 'McMatch-Multiple', 'female', '1982-07-10', home('65D8EC67', ['1 Jasmine Court', 'Barton-upon-Humber'], 'DN19 7UD', '2024-03-19')) },
];

const FIXED = new Set(SANDBOX_PATIENTS.map((patient) => patient.nhsNumber));

/** Whether an NHS number is one of the sandbox's fixed patients, whose updates are answered but not kept. */
export function isSandboxFixture(nhsNumber: string): boolean {
  return FIXED.has(nhsNumber);
}

/** The first NHS number the NHS sandbox allocates, and the valid numbers after it, in order. */
export function sandboxAllocationNumbers(count = 100): string[] {
  const numbers: string[] = [];
  for (let stem = 518_266_336; numbers.length < count; stem++) {
    const check = nhsNumberCheckDigit(String(stem));
    if (check !== undefined) numbers.push(`${stem}${check}`);
  }
  return numbers;
}

/** Puts every sandbox patient back as published (and their previous emails); running it twice changes nothing. */
export async function seedSandboxPatients(db: Database): Promise<number> {
  for (const patient of SANDBOX_PATIENTS) {
    const { nhsNumber, version, record } = patient;
    await writePatient(db, { nhsNumber, versionId: version, lastUpdated: new Date(), record, restricted: patient.restricted ?? false, keys: searchKeysOf(record) });
    for (const email of patient.previousEmails ?? []) await addPreviousValue(db, nhsNumber, 'email', email.toLowerCase());
  }
  return SANDBOX_PATIENTS.length;
}
