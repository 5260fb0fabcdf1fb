// A prescription-order message as PORX_IN020101SM31, the HL7 v3 ParentPrescription that EPS sends
// to Spine (examples/**/N-Convert-Response-Send-200_OK.xml from N-Process-Request-Send-200_OK.json).
import type { Bundle, CommunicationRequest, MedicationRequest, Provenance, Signature } from '@medplum/fhirtypes';
import { SpineError } from '../../platform/errors.ts';
import { EpsErrors } from '../errors.ts';
import { extensionOf, identifierOf, ODS_SYSTEM, resourcesOf } from '../fhir-read.ts';
import { MAX_LINE_ITEMS } from '../order.ts';
import { agentPerson, responsiblePartyOf } from './agent-person.ts';
import { code, hl7Date, hl7DateTime, hl7Time, id, observation, OID, required, seperatableInd, timestamp, uuidId } from './hl7.ts';
import { ADMINISTRATION, DISPENSING, lineItem, patientMessagesOf, repeatNumber } from './line-item.ts';
import { patientOf, recordTarget } from './patient.ts';
import { itemIdOf, prescriptionIdsOf } from './request-ids.ts';
import { el, parseXml, type XmlNode } from './xml.ts';

export const SEND_INTERACTION = 'PORX_IN020101SM31';
const PRESCRIPTION_TYPE_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionType';
const PERFORMER_SITE_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PerformerSiteType';
const REPEAT_INFORMATION_EXTENSION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation';
const TREATMENT_TYPES = { acute: '0001', continuous: '0002', 'continuous-repeat-dispensing': '0003' } as const;
type Course = keyof typeof TREATMENT_TYPES;

/**
 * The treatment type of the prescription: the one course of all its items, or acute where acute and
 * continuous items are mixed (primary-care/acute-and-repeat-prescribing: 0001, no repeat number).
 */
function courseOf(requests: MedicationRequest[]): Course {
  const courses = new Set(requests.map((request) => request.courseOfTherapyType?.coding?.[0]?.code ?? ''));
  const [only] = [...courses];
  if (courses.size === 1 && only !== undefined && only in TREATMENT_TYPES) return only as Course;
  if (courses.size === 2 && courses.has('acute') && courses.has('continuous')) return 'acute';
  throw EpsErrors.invalidMessage("Course of therapy type must either match for all MedicationRequests or be a mixture of 'acute' and 'continuous'", 'MedicationRequest.courseOfTherapyType');
}

/**
 * The refusal of a bundle with more line items than a prescription may have, as
 * bulk-translation/1-Convert-Response-Send-400_Bad_Request.json gives it.
 */
function assertAtMostFourItems(bundle: Bundle): void {
  if (resourcesOf<MedicationRequest>(bundle, 'MedicationRequest').length <= MAX_LINE_ITEMS) return;
  throw EpsErrors.tooManyLineItems(MAX_LINE_ITEMS);
}

/** The ParentPrescription of a prescription-order, with its patient's NHS number (to audit the conversion by). */
export function parentPrescription(bundle: Bundle, now: Date): { payload: XmlNode; patientNhsNumber: string } {
  // A translation, not a check of the order: the examples convert prescriptions that $process-message
  // would refuse (an id with a bad check character in the homecare dosage-instructions examples).
  assertAtMostFourItems(bundle);
  const requests = resourcesOf<MedicationRequest>(bundle, 'MedicationRequest');
  const first = required(requests[0], 'Bundle.entry.resource.ofType(MedicationRequest)');
  const { patient, nhsNumber: patientNhsNumber } = patientOf(bundle, first);
  const author = authorOf(bundle, first, now);
  const validFrom = first.dispenseRequest?.validityPeriod?.start;
  const payload = el('ParentPrescription', { classCode: 'INFO', moodCode: 'EVN' }, [
    uuidId(required(bundle.identifier?.value, 'Bundle.identifier')),
    code('163501000000109', OID.snomed, 'Prescription - FocusActOrEvent (record artifact)'),
    validFrom === undefined ? el('effectiveTime', { value: author.time }) : timestamp('effectiveTime', validFrom, 'MedicationRequest.dispenseRequest.validityPeriod.start'),
    id(OID.messageType, 'PORX_MT132004UK31', 'typeId'),
    recordTarget(patient),
    el('pertinentInformation1', { contextConductionInd: 'true', typeCode: 'PERT' }, [
      id(OID.template, 'CSAB_RM-NPfITUK10.pertinentInformation', 'templateId'),
      prescription(bundle, requests, courseOf(requests), author),
    ]),
    el('pertinentInformation2', { typeCode: 'PERT' }, [
      id(OID.template, 'CSAB_RM-NPfITUK10.pertinentInformation1', 'templateId'),
      el('pertinentCareRecordElementCategory', { classCode: 'CATEGORY', moodCode: 'EVN' }, [
        code('185361000000102', OID.snomed, 'Medication - care record element (record artifact)'),
        ...requests.map((request) => el('component', { typeCode: 'COMP' }, [el('actRef', { classCode: 'SBADM', moodCode: 'RQO' }, [uuidId(itemIdOf(request))])])),
      ]),
    ]),
  ]);
  return { payload, patientNhsNumber };
}

type Author = { time: string; signatureText: XmlNode };

/**
 * When and how the prescriber signed: the Provenance signature of the requester, its XML Signature
 * written into signatureText as it is; an unsigned order is signed now, with no signature (NA).
 */
function authorOf(bundle: Bundle, first: MedicationRequest, now: Date): Author {
  const requester = first.requester?.reference;
  const signature = resourcesOf<Provenance>(bundle, 'Provenance').flatMap((provenance) => provenance.signature ?? []).find((candidate: Signature) => candidate.who.reference === requester);
  if (!signature) return { time: hl7Time(now), signatureText: el('signatureText', { nullFlavor: 'NA' }) };
  let signed: XmlNode[];
  try {
    signed = parseXml(Buffer.from(required(signature.data, 'Provenance.signature.data'), 'base64').toString('utf8'));
  } catch (error) {
    if (error instanceof SpineError) throw error;
    throw EpsErrors.invalidMessage(`Invalid signature format: ${error instanceof Error ? error.message : String(error)}`, 'Provenance.signature.data');
  }
  return { time: hl7DateTime(signature.when, 'Provenance.signature.when'), signatureText: el('signatureText', {}, signed) };
}

function prescription(bundle: Bundle, requests: MedicationRequest[], course: Course, author: Author): XmlNode {
  const first = requests[0] as MedicationRequest;
  const dispense = first.dispenseRequest;
  const { shortId, longId } = prescriptionIdsOf(first);
  const repeats = course === 'continuous' ? 1 : course === 'continuous-repeat-dispensing' ? required(dispense?.numberOfRepeatsAllowed, 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed') + 1 : undefined;
  const performer = identifierOf(dispense?.performer?.identifier, ODS_SYSTEM);
  const reviewDate = extensionOf(extensionOf(first, REPEAT_INFORMATION_EXTENSION), 'authorisationExpiryDate')?.valueDateTime;
  const patientMessages = patientMessagesOf(bundle, resourcesOf<CommunicationRequest>(bundle, 'CommunicationRequest'));
  const typeCoding = extensionOf(first, PRESCRIPTION_TYPE_EXTENSION)?.valueCoding?.code;
  const siteCoding = extensionOf(dispense, PERFORMER_SITE_EXTENSION)?.valueCoding?.code;
  return el('pertinentPrescription', { classCode: 'SBADM', moodCode: 'RQO' }, [
    uuidId(longId),
    id(OID.shortFormPrescriptionId, shortId),
    ADMINISTRATION(),
    el('effectiveTime', { nullFlavor: 'NA' }),
    repeats !== undefined && repeatNumber(repeats),
    performer !== undefined && el('performer', { contextControlCode: 'OP', typeCode: 'PRF' }, [
      el('AgentOrgSDS', { classCode: 'AGNT' }, [el('agentOrganizationSDS', { classCode: 'ORG', determinerCode: 'INSTANCE' }, [id(OID.ods, performer)])]),
    ]),
    el('author', { contextControlCode: 'OP', typeCode: 'AUT' }, [
      el('time', { value: author.time }),
      author.signatureText,
      agentPerson(bundle, first.requester, 'prescription-author'),
    ]),
    el('responsibleParty', { contextControlCode: 'OP', typeCode: 'RESP' }, [
      agentPerson(bundle, responsiblePartyOf(first), 'prescription-responsible-party'),
    ]),
    course === 'continuous-repeat-dispensing' && daysSupply(first),
    reviewDate !== undefined && observation('pertinentInformation7', false, 'pertinentReviewDate', 'RD', el('value', { value: hl7Date(reviewDate, 'authorisationExpiryDate') })),
    observation('pertinentInformation5', false, 'pertinentPrescriptionTreatmentType', 'PTT', code(TREATMENT_TYPES[course], '2.16.840.1.113883.2.1.3.2.4.16.36', undefined, 'value')),
    observation('pertinentInformation1', true, 'pertinentDispensingSitePreference', 'DSP', code(required(siteCoding, 'MedicationRequest.dispenseRequest.extension(Extension-DM-PerformerSiteType)'), '2.16.840.1.113883.2.1.3.2.4.17.21', undefined, 'value')),
    ...requests.map((request, index) => el('pertinentInformation2', { contextConductionInd: 'true', inversionInd: 'false', negationInd: 'false', typeCode: 'PERT' }, [
      seperatableInd(true),
      id(OID.template, 'CSAB_RM-NPfITUK10.sourceOf2', 'templateId'),
      lineItem(bundle, request, repeats, index === 0 ? patientMessages : ''),
    ])),
    // Spine issues no token for an electronic prescription: TI is false in every example.
    observation('pertinentInformation8', false, 'pertinentTokenIssued', 'TI', el('value', { value: 'false' })),
    observation('pertinentInformation4', false, 'pertinentPrescriptionType', 'PT', code(required(typeCoding, 'MedicationRequest.extension(Extension-DM-PrescriptionType)'), '2.16.840.1.113883.2.1.3.2.4.17.25', undefined, 'value')),
  ]);
}

/** The repeat-dispensing issue period and supply length (component1 of the eRD examples). */
function daysSupply(first: MedicationRequest): XmlNode {
  const period = first.dispenseRequest?.validityPeriod;
  const duration = first.dispenseRequest?.expectedSupplyDuration;
  if (duration?.code !== 'd') throw EpsErrors.invalidMessage('Expected supply duration must be specified in days', 'MedicationRequest.dispenseRequest.expectedSupplyDuration.code');
  return el('component1', { typeCode: 'COMP' }, [
    seperatableInd(true),
    el('daysSupply', { classCode: 'SPLY', moodCode: 'RQO' }, [
      DISPENSING(),
      el('effectiveTime', {}, [
        el('low', { value: hl7Date(required(period?.start, 'MedicationRequest.dispenseRequest.validityPeriod.start'), 'validityPeriod.start') }),
        el('high', { value: hl7Date(required(period?.end, 'MedicationRequest.dispenseRequest.validityPeriod.end'), 'validityPeriod.end') }),
      ]),
      el('expectedUseTime', {}, [el('width', { unit: 'd', value: String(required(duration.value, 'MedicationRequest.dispenseRequest.expectedSupplyDuration.value')) })]),
    ]),
  ]);
}
