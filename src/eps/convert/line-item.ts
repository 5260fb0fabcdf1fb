// A MedicationRequest as an HL7 v3 pertinentLineItem: product, quantity, additional instructions,
// prescriber endorsements and dosage (examples/**/1-Convert-Response-Send-200_OK.xml).
import type { Bundle, CommunicationRequest, Dosage, List, Medication, MedicationRequest } from '@medplum/fhirtypes';
import { EpsErrors } from '../errors.ts';
import { extensionOf, resolve } from '../fhir-read.ts';
import { code, observation, OID, required, seperatableInd, snomed, uuidId } from './hl7.ts';
import { itemIdOf } from './request-ids.ts';
import { el, textEl, type XmlNode } from './xml.ts';

const SNOMED_SYSTEM = 'http://snomed.info/sct';
const ENDORSEMENT_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionEndorsement';
const CONTROLLED_DRUG_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-ControlledDrug';

/** The "administration of therapeutic substance" act code that a prescription and each line item carry. */
export const ADMINISTRATION = () => snomed('225426007', 'Administration of therapeutic substance (procedure)');
/** The "dispensing medication" supply code of quantities and days supply. */
export const DISPENSING = () => snomed('373784005', 'Dispensing medication (procedure)');

/** repeatNumber low..high: of a prescription and each of its line items (from 1), or of the issue dispensed. */
export const repeatNumber = (high: number, low = 1) => el('repeatNumber', {}, [el('low', { value: String(low) }), el('high', { value: String(high) })]);

/** The SNOMED coding of the medication of a request or dispense, given in it or in the Medication it references. */
export function medicationCoding(bundle: Bundle, holder: Pick<MedicationRequest, 'medicationCodeableConcept' | 'medicationReference'>): { code: string; display?: string } {
  const concept = holder.medicationCodeableConcept ?? resolve<Medication>(bundle, holder.medicationReference?.reference)?.code;
  const coding = concept?.coding?.find((candidate) => candidate.system === SNOMED_SYSTEM);
  const value = required(coding?.code, 'MedicationRequest.medication');
  return coding?.display === undefined ? { code: value } : { code: value, display: coding.display };
}

/** A quantity in SNOMED units as the examples write it: unit 1, with its unit as a translation. */
export function quantity(value: number | undefined, unitCode: string | undefined, unit: string | undefined, expression: string): XmlNode {
  const amount = String(required(value, `${expression}.value`));
  return el('quantity', { unit: '1', value: amount }, [el('translation', { code: required(unitCode, `${expression}.code`), codeSystem: OID.snomed, displayName: unit, value: amount })]);
}

/**
 * The dosage text: one dosage's text, or several joined as the NHS translation does, dosages of one
 * sequence ", and " (concurrent) and sequences in order ", then " (consecutive), as the homecare
 * concurrent- and consecutive-dosage-instructions examples show.
 */
export function dosageText(dosages: Dosage[], expression: string): string {
  const [first, ...more] = dosages;
  if (!first) throw EpsErrors.invalidMessage(`${expression} is required`, expression);
  if (more.length === 0) return required(first.text, `${expression}.text`);
  if (dosages.some((dosage) => dosage.sequence === undefined)) throw EpsErrors.invalidMessage('Several dosage instructions must each have a sequence', `${expression}.sequence`);
  const sequences = [...new Set(dosages.map((dosage) => dosage.sequence ?? 0))].sort((a, b) => a - b);
  return sequences.map((sequence) => dosages.filter((dosage) => dosage.sequence === sequence).map((dosage) => required(dosage.text, `${expression}.text`)).join(', and ')).join(', then ');
}

const escapeMarkup = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The prescription's messages to the patient carried by CommunicationRequests: the repeat medication
 * list (a List's item displays) and free text. They go in the first line item's additional
 * instructions as `<medication>` and `<patientInfo>` markup, as the eRD examples show.
 */
export function patientMessagesOf(bundle: Bundle, requests: CommunicationRequest[]): string {
  const payloads = requests.flatMap((request) => request.payload ?? []);
  const medications = payloads
    .flatMap((payload) => resolve<List>(bundle, payload.contentReference?.reference)?.entry ?? [])
    .map((entry) => entry.item.display)
    .filter((display): display is string => Boolean(display));
  const info = payloads.map((payload) => payload.contentString).filter((text): text is string => Boolean(text));
  return [...medications.map((text) => `<medication>${escapeMarkup(text)}</medication>`), ...info.map((text) => `<patientInfo>${escapeMarkup(text)}</patientInfo>`)].join('');
}

/** The additional instructions: the patient messages, then the controlled drug quantity in words and the note, a line each. */
function additionalInstructions(request: MedicationRequest, patientMessages: string): XmlNode | undefined {
  const words = extensionOf(extensionOf(request, CONTROLLED_DRUG_EXTENSION), 'quantityWords')?.valueString;
  const notes = request.note ?? [];
  if (notes.length > 1) throw EpsErrors.invalidMessage('A MedicationRequest may have one note', 'MedicationRequest.note');
  const text = patientMessages + [words && `CD: ${words}`, notes[0]?.text].filter(Boolean).join('\n');
  return text ? observation('pertinentInformation1', false, 'pertinentAdditionalInstructions', 'AI', textEl('value', text)) : undefined;
}

function endorsements(request: MedicationRequest): XmlNode[] {
  return (request.extension ?? [])
    .filter((extension) => extension.url === ENDORSEMENT_EXTENSION)
    .map((extension) => {
      const endorsement = required(extension.valueCodeableConcept?.coding?.[0]?.code, 'MedicationRequest.extension(Extension-DM-PrescriptionEndorsement).valueCodeableConcept');
      return observation('pertinentInformation3', false, 'pertinentPrescriberEndorsement', 'PE', code(endorsement, '2.16.840.1.113883.2.1.3.2.4.16.32', undefined, 'value'));
    });
}

/** One line item; the first carries the patient messages, and every one the prescription's repeat number. */
export function lineItem(bundle: Bundle, request: MedicationRequest, repeats: number | undefined, patientMessages: string): XmlNode {
  const medication = medicationCoding(bundle, request);
  const supply = request.dispenseRequest?.quantity;
  return el('pertinentLineItem', { classCode: 'SBADM', moodCode: 'RQO' }, [
    uuidId(itemIdOf(request)),
    ADMINISTRATION(),
    el('effectiveTime', { nullFlavor: 'NA' }),
    repeats !== undefined && repeatNumber(repeats),
    el('product', { contextControlCode: 'OP', typeCode: 'PRD' }, [
      el('manufacturedProduct', { classCode: 'MANU' }, [el('manufacturedRequestedMaterial', { classCode: 'MMAT', determinerCode: 'KIND' }, [snomed(medication.code, medication.display)])]),
    ]),
    el('component', { typeCode: 'COMP' }, [
      seperatableInd(false),
      el('lineItemQuantity', { classCode: 'SPLY', moodCode: 'RQO' }, [DISPENSING(), quantity(supply?.value, supply?.code, supply?.unit, 'MedicationRequest.dispenseRequest.quantity')]),
    ]),
    additionalInstructions(request, patientMessages),
    ...endorsements(request),
    observation('pertinentInformation2', false, 'pertinentDosageInstructions', 'DI', textEl('value', dosageText(request.dosageInstruction ?? [], 'MedicationRequest.dosageInstruction'))),
  ]);
}
