// The patient of a prescription as HL7 v3 writes them: NHS number, addresses, names, gender, birth
// date and registered GP (examples/**/1-Convert-Response-Send-200_OK.xml, recordTarget).
import type { Bundle, MedicationRequest, Patient } from '@medplum/fhirtypes';
import { EpsErrors } from '../errors.ts';
import { identifierOf, NHS_NUMBER_SYSTEM, resolve } from '../fhir-read.ts';
import { address, code, hl7Date, id, name, OID, required, telecom } from './hl7.ts';
import { el, type XmlNode } from './xml.ts';

const GENDERS: Record<string, string> = { unknown: '0', male: '1', female: '2', other: '9' };

/** The Patient a MedicationRequest is for, and their NHS number (to audit the conversion by). */
export function patientOf(bundle: Bundle, request: MedicationRequest): { patient: Patient; nhsNumber: string } {
  const patient = resolve<Patient>(bundle, request.subject?.reference);
  if (patient?.resourceType !== 'Patient') throw EpsErrors.invalidMessage('The subject must be a Patient in the bundle', 'MedicationRequest.subject');
  return { patient, nhsNumber: required(identifierOf(patient.identifier, NHS_NUMBER_SYSTEM), 'Patient.identifier') };
}

export function recordTarget(patient: Patient): XmlNode {
  const gender = GENDERS[required(patient.gender, 'Patient.gender')];
  if (gender === undefined) throw EpsErrors.invalidMessage(`Unsupported gender '${String(patient.gender)}'`, 'Patient.gender');
  const gp = patient.generalPractitioner?.[0]?.identifier?.value;
  return el('recordTarget', { typeCode: 'RCT' }, [
    el('Patient', { classCode: 'PAT' }, [
      id(OID.nhsNumber, required(identifierOf(patient.identifier, NHS_NUMBER_SYSTEM), 'Patient.identifier')),
      ...(patient.address ?? []).map((each) => address(each, 'Patient.address')),
      ...(patient.telecom ?? []).map((each) => telecom(each, 'Patient.telecom')),
      el('patientPerson', { classCode: 'PSN', determinerCode: 'INSTANCE' }, [
        ...required(patient.name, 'Patient.name').map((each) => name(each, 'Patient.name')),
        code(gender, '2.16.840.1.113883.2.1.3.2.4.16.25', undefined, 'administrativeGenderCode'),
        el('birthTime', { value: hl7Date(required(patient.birthDate, 'Patient.birthDate'), 'Patient.birthDate') }),
        el('playedProviderPatient', { classCode: 'PAT' }, [
          el('subjectOf', { typeCode: 'SBJ' }, [
            el('patientCareProvision', { classCode: 'PCPR', moodCode: 'EVN' }, [
              code('1', '2.16.840.1.113883.2.1.3.2.4.17.37'),
              el('responsibleParty', { typeCode: 'RESP' }, [
                el('healthCareProvider', { classCode: 'PROV' }, [gp === undefined ? el('id', { nullFlavor: 'UNK' }) : id(OID.ods, gp)]),
              ]),
            ]),
          ]),
        ]),
      ]),
    ]),
  ]);
}
