// A dispense-notification message as PORX_IN080101SM31, the HL7 v3 DispenseNotification
// (examples/**/N-Convert-Response-Dispense-200_OK.xml from N-Process-Request-Dispense-200_OK.json,
// and the dispense amendment 5-Convert-Response-DispenseAmend-200_OK.xml, which replaces one).
import type { Bundle, MedicationDispense, MedicationRequest, MessageHeader } from '@medplum/fhirtypes';
import { readDispenseNotification } from '../dispense-messages.ts';
import { BUSINESS_STATUS_EXTENSION, extensionOf, identifierOf, REPEAT_INFORMATION, REPLACEMENT_OF, resolve, resourcesOf } from '../fhir-read.ts';
import { dispenser, pharmacistOf } from './dispenser.ts';
import { code, hl7Time, id, observation, OID, prescriptionIdObservation, required, seperatableInd, snomed, timestamp, uuidId } from './hl7.ts';
import { ADMINISTRATION, dosageText, medicationCoding, quantity } from './line-item.ts';
import { itemIdOf, prescriptionIdsOf } from './request-ids.ts';
import { DISPENSED_MEDICATION, inFulfillmentOf, itemStatus, nonDispensingReason, prescriptionStatus, recipientOrganisation, repeatIssue, replacementOf, suppliedProduct, supplyHeaderOpening } from './supply.ts';
import { el, textEl, type XmlNode } from './xml.ts';

export const DISPENSE_INTERACTION = 'PORX_IN080101SM31';
const DISPENSE_ITEM_SYSTEM = 'https://fhir.nhs.uk/Id/prescription-dispense-item-number';
const ORGANISATION_RELATIONSHIPS = 'https://fhir.nhs.uk/StructureDefinition/Extension-ODS-OrganisationRelationships';

type Dispensed = { dispense: MedicationDispense; request: MedicationRequest };

/** The DispenseNotification of the message, the pharmacist signing it now, with its patient's NHS number. */
export function dispenseNotification(bundle: Bundle, now: Date): { payload: XmlNode; patientNhsNumber: string } {
  // The checks $process-message makes: at least one MedicationDispense, each with its MedicationRequest.
  const { patientNhsNumber, messageId } = readDispenseNotification(bundle);
  const header = bundle.entry?.[0]?.resource as MessageHeader;
  const dispensed = resourcesOf<MedicationDispense>(bundle, 'MedicationDispense').map((dispense): Dispensed => {
    const request = resolve<MedicationRequest>(bundle, dispense.authorizingPrescription?.[0]?.reference, dispense.contained ?? []) as MedicationRequest;
    return { dispense, request };
  });
  const first = dispensed[0] as Dispensed;
  const { role, pharmacy } = pharmacistOf(first.dispense.performer?.[0]?.actor.reference, first.dispense.contained, 'MedicationDispense.performer', bundle);
  const payor = extensionOf(extensionOf(pharmacy, ORGANISATION_RELATIONSHIPS), 'reimbursementAuthority')?.valueIdentifier?.value;
  const replaces = extensionOf(header, REPLACEMENT_OF)?.valueIdentifier?.value;
  const payload = el('DispenseNotification', { classCode: 'INFO', moodCode: 'EVN' }, [
    uuidId(messageId),
    DISPENSED_MEDICATION(),
    timestamp('effectiveTime', required(first.dispense.whenHandedOver, 'MedicationDispense.whenHandedOver'), 'MedicationDispense.whenHandedOver'),
    id(OID.messageType, 'PORX_MT024001UK31', 'typeId'),
    el('recordTarget', { typeCode: 'RCT' }, [el('patient', { classCode: 'PAT' }, [id(OID.nhsNumber, patientNhsNumber)])]),
    // The NHS BSA pays for what is dispensed: the pharmacy's reimbursement authority.
    el('primaryInformationRecipient', { contextControlCode: 'ON', typeCode: 'PRCP' }, [
      recipientOrganisation(required(payor, 'Organization.extension(Extension-ODS-OrganisationRelationships).reimbursementAuthority'), undefined),
    ]),
    el('pertinentInformation1', { contextConductionInd: 'true', typeCode: 'PERT' }, [
      id(OID.template, 'CSAB_RM-NPfITUK10.pertinentInformation', 'templateId'),
      supplyHeader(bundle, messageId, dispensed, dispenser(role, pharmacy, 'MedicationDispense.contained.ofType(PractitionerRole)'), now),
    ]),
    el('pertinentInformation2', { typeCode: 'PERT' }, [
      id(OID.template, 'CSAB_RM-NPfITUK10.pertinentInformation1', 'templateId'),
      el('pertinentCareRecordElementCategory', { classCode: 'CATEGORY', moodCode: 'EVN' }, [
        code('185361000000102', OID.snomed, 'Medication - care record element (record artifact)'),
        ...dispensed.map(({ dispense }) => el('component', { typeCode: 'COMP' }, [el('actRef', { classCode: 'SBADM', moodCode: 'PRMS' }, [uuidId(dispenseItemIdOf(dispense))])])),
      ]),
    ]),
    replaces !== undefined && replacementOf(replaces),
    // The release this dispensing follows: the message the release response answered (MessageHeader.response).
    el('sequelTo', { typeCode: 'SEQL' }, [
      el('priorPrescriptionReleaseEventRef', { classCode: 'INFO', moodCode: 'RQO' }, [uuidId(required(header.response?.identifier, 'MessageHeader.response.identifier'))]),
    ]),
  ]);
  return { payload, patientNhsNumber };
}

const dispenseItemIdOf = (dispense: MedicationDispense) => required(identifierOf(dispense.identifier, DISPENSE_ITEM_SYSTEM), 'MedicationDispense.identifier');

/** The issue of a repeat-dispensing prescription being dispensed, from the request's basedOn. */
function repeatOf(request: MedicationRequest): XmlNode | undefined {
  if (request.courseOfTherapyType?.coding?.[0]?.code !== 'continuous-repeat-dispensing') return undefined;
  return repeatIssue(request.basedOn?.map((based) => extensionOf(based, REPEAT_INFORMATION)).find(Boolean), 'MedicationRequest.basedOn.extension(Extension-EPS-RepeatInformation)');
}

function supplyHeader(bundle: Bundle, messageId: string, dispensed: Dispensed[], author: XmlNode, now: Date): XmlNode {
  const first = dispensed[0] as Dispensed;
  const { shortId, longId } = prescriptionIdsOf(first.request);
  const status = required(extensionOf(first.dispense, BUSINESS_STATUS_EXTENSION)?.valueCoding, 'MedicationDispense.extension(Extension-EPS-TaskBusinessStatus)');
  // Several MedicationDispenses of one item (packs from different makers) are one supplied line item.
  const items = new Map<string, Dispensed[]>();
  for (const each of dispensed) items.set(dispenseItemIdOf(each.dispense), [...(items.get(dispenseItemIdOf(each.dispense)) ?? []), each]);
  return el('pertinentSupplyHeader', { classCode: 'SBADM', moodCode: 'EVN' }, [
    ...supplyHeaderOpening(messageId),
    repeatOf(first.request),
    el('author', { contextControlCode: 'OP', typeCode: 'AUT' }, [el('time', { value: hl7Time(now) }), el('signatureText', { nullFlavor: 'NA' }), author]),
    ...[...items].map(([itemId, packs]) => el('pertinentInformation1', { contextConductionInd: 'true', inversionInd: 'false', negationInd: 'false', typeCode: 'PERT' }, [
      seperatableInd(false),
      id(OID.template, 'CSAB_RM-NPfITUK10.sourceOf2', 'templateId'),
      suppliedLineItem(bundle, itemId, packs),
    ])),
    prescriptionStatus(status, 'MedicationDispense.extension(Extension-EPS-TaskBusinessStatus)'),
    prescriptionIdObservation('pertinentInformation4', shortId),
    inFulfillmentOf('priorOriginalPrescriptionRef', longId),
  ]);
}

/** One item as supplied: what was asked for, each pack given, and the item's status. */
function suppliedLineItem(bundle: Bundle, itemId: string, packs: Dispensed[]): XmlNode {
  const { dispense, request } = packs[0] as Dispensed;
  const requested = medicationCoding(bundle, request);
  const asked = request.dispenseRequest?.quantity;
  const status = required(dispense.type?.coding?.[0], 'MedicationDispense.type');
  const notDispensed = dispense.statusReasonCodeableConcept?.coding?.[0];
  return el('pertinentSuppliedLineItem', { classCode: 'SBADM', moodCode: 'PRMS' }, [
    uuidId(itemId),
    ADMINISTRATION(),
    el('effectiveTime', { nullFlavor: 'NA' }),
    repeatOf(request),
    el('consumable', { contextControlCode: 'OP', typeCode: 'CSM' }, [
      el('requestedManufacturedProduct', { classCode: 'MANU' }, [el('manufacturedRequestedMaterial', { classCode: 'MMAT', determinerCode: 'KIND' }, [snomed(requested.code, requested.display)])]),
    ]),
    ...packs.map((pack) => suppliedPack(bundle, pack.dispense)),
    el('component1', { typeCode: 'COMP' }, [
      seperatableInd(false),
      el('supplyRequest', { classCode: 'SPLY', moodCode: 'RQO' }, [
        snomed(required(asked?.code, 'MedicationRequest.dispenseRequest.quantity.code'), asked?.unit),
        quantity(asked?.value, asked?.code, asked?.unit, 'MedicationRequest.dispenseRequest.quantity'),
      ]),
    ]),
    notDispensed !== undefined && nonDispensingReason(notDispensed, 'MedicationDispense.statusReasonCodeableConcept'),
    itemStatus(status, 'MedicationDispense.type'),
    inFulfillmentOf('priorOriginalItemRef', itemIdOf(request)),
  ]);
}

/** One pack given: its quantity, the product supplied, and the instructions given with it. */
function suppliedPack(bundle: Bundle, dispense: MedicationDispense): XmlNode {
  return suppliedProduct(dispense.quantity, medicationCoding(bundle, dispense), 'INSTANCE', 'MedicationDispense.quantity', [
    observation('pertinentInformation1', false, 'pertinentSupplyInstructions', 'SI', textEl('value', dosageText(dispense.dosageInstruction ?? [], 'MedicationDispense.dosageInstruction'))),
  ]);
}
