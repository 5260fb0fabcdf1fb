// A Claim as PORX_IN090101SM31, the HL7 v3 DispenseClaim to the NHS BSA
// (examples/**/N-Convert-Response-Claim-200_OK.xml from N-Claim-Request-200_OK.json, and the
// amendment 6-Convert-Response-Amend-200_OK.xml from 6-Claim-Request-Amend-200_OK.json).
import type { Claim, ClaimItem, ClaimItemDetail, ClaimItemDetailSubDetail } from '@medplum/fhirtypes';
import { readClaim } from '../dispense-messages.ts';
import { EpsErrors } from '../errors.ts';
import { BUSINESS_STATUS_EXTENSION, CLAIM_REQUEST_REFERENCE, ENDORSEMENT_SYSTEM, extensionOf, GROUP_IDENTIFIER, REPEAT_INFORMATION, REPLACEMENT_OF } from '../fhir-read.ts';
import { dispenser, pharmacistOf } from './dispenser.ts';
import { code, id, observation, OID, prescriptionIdObservation, required, seperatableInd, timestamp, uuidId } from './hl7.ts';
import { ADMINISTRATION } from './line-item.ts';
import { DISPENSED_MEDICATION, inFulfillmentOf, itemStatus, nonDispensingReason, prescriptionStatus, recipientOrganisation, repeatIssue, replacementOf, suppliedProduct, supplyHeaderOpening } from './supply.ts';
import { el, textEl, type XmlNode } from './xml.ts';

export const CLAIM_INTERACTION = 'PORX_IN090101SM31';
const SEQUENCE_IDENTIFIER = 'https://fhir.nhs.uk/StructureDefinition/Extension-ClaimSequenceIdentifier';
const STATUS_REASON = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-TaskBusinessStatusReason';
const CHARGE_EXEMPTION_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/prescription-charge-exemption';
const EXEMPTION_EVIDENCE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/DM-exemption-evidence';
const PRESCRIPTION_CHARGE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/DM-prescription-charge';
const DISPENSE_TYPE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationdispense-type';
/**
 * The release a claim follows is mandatory in HL7 v3 but unused by the NHS BSA, and a Claim does
 * not name it: every Claim example has this placeholder.
 */
const UNKNOWN_RELEASE = 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF';

const codingOf = (concepts: { coding?: { system?: string; code?: string; display?: string }[] }[] | undefined, system: string) =>
  concepts?.flatMap((concept) => concept.coding ?? []).find((coding) => coding.system === system);

/** The DispenseClaim, with its patient's NHS number. */
export function dispenseClaim(body: unknown): { messageId: string; payload: XmlNode; patientNhsNumber: string } {
  // The checks POST /Claim makes: the prescription id, the patient, each detail's item and endorsement.
  const { patientNhsNumber, claimId } = readClaim(body);
  const claim = body as Claim;
  const item = required(claim.item?.[0], 'Claim.item');
  const created = required(claim.created, 'Claim.created');
  const { role, pharmacy } = pharmacistOf(claim.provider?.reference, claim.contained, 'Claim.provider');
  const group = extensionOf(claim.prescription, GROUP_IDENTIFIER);
  const coverage = required(claim.insurance?.[0]?.coverage, 'Claim.insurance.coverage');
  const replaces = extensionOf(claim, REPLACEMENT_OF)?.valueIdentifier?.value;
  const notDispensed = extensionOf(item, STATUS_REASON)?.valueCoding;
  const header = el('pertinentSupplyHeader', { classCode: 'SBADM', moodCode: 'EVN' }, [
    ...supplyHeaderOpening(claimId),
    repeatOf(item) ?? repeatOf(item.detail?.[0]),
    el('legalAuthenticator', { contextControlCode: 'OP', typeCode: 'LA' }, [
      timestamp('time', created, 'Claim.created'),
      el('signatureText', { nullFlavor: 'NA' }),
      dispenser(role, pharmacy, 'Claim.contained.ofType(PractitionerRole)'),
    ]),
    notDispensed !== undefined && nonDispensingReason(notDispensed, 'Claim.item.extension(Extension-EPS-TaskBusinessStatusReason)'),
    prescriptionStatus(required(extensionOf(item, BUSINESS_STATUS_EXTENSION)?.valueCoding, 'Claim.item.extension(Extension-EPS-TaskBusinessStatus)'), 'Claim.item.extension(Extension-EPS-TaskBusinessStatus)'),
    ...(item.detail ?? []).map((detail) => el('pertinentInformation1', { contextConductionInd: 'true', inversionInd: 'false', negationInd: 'false', typeCode: 'PERT' }, [
      seperatableInd(false),
      id(OID.template, 'CSAB_RM-NPfITUK10.sourceOf2', 'templateId'),
      suppliedLineItem(detail),
    ])),
    prescriptionIdObservation('pertinentInformation4', required(extensionOf(group, 'shortForm')?.valueIdentifier?.value, 'Claim.prescription.extension(Extension-DM-GroupIdentifier).shortForm')),
    inFulfillmentOf('priorOriginalPrescriptionRef', required(extensionOf(group, 'UUID')?.valueIdentifier?.value, 'Claim.prescription.extension(Extension-DM-GroupIdentifier).UUID')),
  ]);
  const payload = el('DispenseClaim', { classCode: 'INFO', moodCode: 'EVN' }, [
    uuidId(claimId),
    DISPENSED_MEDICATION(),
    timestamp('effectiveTime', created, 'Claim.created'),
    id(OID.messageType, 'PORX_MT142001UK31', 'typeId'),
    el('primaryInformationRecipient', { typeCode: 'PRCP' }, [recipientOrganisation(required(coverage.identifier?.value, 'Claim.insurance.coverage.identifier'), coverage.display)]),
    el('pertinentInformation1', { contextConductionInd: 'true', typeCode: 'PERT' }, [id(OID.template, 'CSAB_RM-NPfITUK10.pertinentInformation', 'templateId'), header]),
    replaces !== undefined && replacementOf(replaces),
    chargeExemption(item),
    el('sequelTo', { typeCode: 'SEQL' }, [el('priorPrescriptionReleaseEventRef', { classCode: 'INFO', moodCode: 'RQO' }, [uuidId(UNKNOWN_RELEASE)])]),
  ]);
  return { messageId: claimId, payload, patientNhsNumber };
}

/** The issue claimed for, of a repeat-dispensing prescription: its EPS-RepeatInformation. */
function repeatOf(holder: ClaimItem | ClaimItemDetail | undefined): XmlNode | undefined {
  const information = extensionOf(holder, REPEAT_INFORMATION);
  return information && repeatIssue(information, 'Claim.item.extension(Extension-EPS-RepeatInformation)');
}

/** One item claimed for: each product given (a subDetail), why not dispensed, its status and the item it fulfils. */
function suppliedLineItem(detail: ClaimItemDetail): XmlNode {
  const notDispensed = extensionOf(detail, STATUS_REASON)?.valueCoding;
  return el('pertinentSuppliedLineItem', { classCode: 'SBADM', moodCode: 'PRMS' }, [
    uuidId(required(extensionOf(detail, SEQUENCE_IDENTIFIER)?.valueIdentifier?.value, 'Claim.item.detail.extension(Extension-ClaimSequenceIdentifier)')),
    ADMINISTRATION(),
    el('effectiveTime', { nullFlavor: 'NA' }),
    repeatOf(detail),
    ...(detail.subDetail ?? []).map((subDetail) => claimedProduct(detail, subDetail)),
    notDispensed !== undefined && nonDispensingReason(notDispensed, 'Claim.item.detail.extension(Extension-EPS-TaskBusinessStatusReason)'),
    itemStatus(required(codingOf(detail.modifier, DISPENSE_TYPE_SYSTEM), 'Claim.item.detail.modifier'), 'Claim.item.detail.modifier'),
    inFulfillmentOf('priorOriginalItemRef', required(extensionOf(detail, CLAIM_REQUEST_REFERENCE)?.valueReference?.identifier?.value, 'Claim.item.detail.extension(Extension-ClaimMedicationRequestReference)')),
  ]);
}

/** A product given (a subDetail): whether a charge was paid for it (CP), and the dispenser's endorsements (DE). */
function claimedProduct(detail: ClaimItemDetail, subDetail: ClaimItemDetailSubDetail): XmlNode {
  const product = codingOf(subDetail.productOrService ? [subDetail.productOrService] : [], 'http://snomed.info/sct');
  const productCode = required(product?.code, 'Claim.item.detail.subDetail.productOrService');
  const charge = codingOf(detail.programCode, PRESCRIPTION_CHARGE_SYSTEM)?.code;
  if (charge !== 'paid-once' && charge !== 'paid-twice' && charge !== 'not-paid') throw EpsErrors.invalidMessage(`Unsupported prescription charge code '${String(charge)}'`, 'Claim.item.detail.programCode');
  const endorsements = (detail.programCode ?? []).filter((concept) => concept.coding?.some((coding) => coding.system === ENDORSEMENT_SYSTEM));
  return suppliedProduct(subDetail.quantity, { code: productCode, display: product?.display }, 'KIND', 'Claim.item.detail.subDetail.quantity', [
    observation('pertinentInformation1', false, 'pertinentChargePayment', 'CP', el('value', { value: String(charge !== 'not-paid') })),
    ...endorsements.map((concept) => el('pertinentInformation2', { contextConductionInd: 'true', typeCode: 'PERT' }, [
      seperatableInd(true),
      el('pertinentDispensingEndorsement', { classCode: 'OBS', moodCode: 'EVN' }, [
        code('DE', OID.observationType),
        // The supporting information of an endorsement (6-Claim-Request-Amend: "Supporting Info for Broken Bulk").
        concept.text !== undefined && textEl('text', concept.text),
        code(required(codingOf([concept], ENDORSEMENT_SYSTEM)?.code, 'Claim.item.detail.programCode'), '2.16.840.1.113883.2.1.3.2.4.16.29', undefined, 'value'),
      ]),
    ])),
  ]);
}

/**
 * Whether the patient is exempt from the charge: negated for 0001 (the patient paid), and whether
 * evidence of the exemption was seen, negated unless it was.
 */
function chargeExemption(item: ClaimItem): XmlNode | undefined {
  const exemption = codingOf(item.programCode, CHARGE_EXEMPTION_SYSTEM)?.code;
  if (exemption === undefined) return undefined;
  const evidence = codingOf(item.programCode, EXEMPTION_EVIDENCE_SYSTEM)?.code;
  return el('coverage', { contextConductionInd: 'true', typeCode: 'COVBY' }, [
    seperatableInd(false),
    el('coveringChargeExempt', { classCode: 'OBS', moodCode: 'EVN', negationInd: String(exemption === '0001') }, [
      code('EX', OID.observationType),
      code(exemption, '2.16.840.1.113883.2.1.3.2.4.16.33', undefined, 'value'),
      evidence !== undefined && el('authorization', { contextConductionInd: 'true', typeCode: 'AUTH' }, [
        seperatableInd(false),
        el('authorizingEvidenceSeen', { classCode: 'OBS', moodCode: 'EVN', negationInd: String(evidence !== 'evidence-seen') }, [code('ES', OID.observationType)]),
      ]),
    ]),
  ]);
}
