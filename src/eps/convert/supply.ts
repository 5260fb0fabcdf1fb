// The parts a dispense notification and a claim share (PORX_IN080101SM31 and PORX_IN090101SM31
// in the Dispense and Claim examples): the supply header's opening, statuses of the prescription
// and its items, references to what was prescribed, and which issue of a repeat dispensing it is.
import type { Coding, Extension, Quantity } from '@medplum/fhirtypes';
import { extensionOf } from '../fhir-read.ts';
import { code, id, observation, OID, required, seperatableInd, snomed, uuidId } from './hl7.ts';
import { DISPENSING, quantity, repeatNumber } from './line-item.ts';
import { el, textEl, type XmlNode } from './xml.ts';

/** The extensions of dispensing messages that several of them carry. */

/** The code of a dispensing message (DispenseNotification, DispenseClaim). */
export const DISPENSED_MEDICATION = () => snomed('163541000000107', 'Dispensed Medication - FocusActOrEvent (administrative concept)');

/** The supply header's id (the message's), act code without display, and no effective time, as both examples write them. */
export const supplyHeaderOpening = (messageId: string): XmlNode[] => [uuidId(messageId), code('225426007', OID.snomed), el('effectiveTime', { nullFlavor: 'NA' })];

/** The organisation a dispensing message is for (the NHS BSA), with its name where known. */
export function recipientOrganisation(ods: string, name: string | undefined): XmlNode {
  return el('AgentOrg', { classCode: 'AGNT' }, [
    el('agentOrganization', { classCode: 'ORG', determinerCode: 'INSTANCE' }, [id(OID.ods, ods), code('999', OID.organisationType), name !== undefined && textEl('name', name)]),
  ]);
}

/** What the dispensing fulfils: the prescription (priorOriginalPrescriptionRef) or one of its items (priorOriginalItemRef). */
export const inFulfillmentOf = (name: 'priorOriginalPrescriptionRef' | 'priorOriginalItemRef', uuid: string): XmlNode =>
  el('inFulfillmentOf', { inversionInd: 'false', negationInd: 'false', typeCode: 'FLFS' }, [
    seperatableInd(true),
    id(OID.template, 'CSAB_RM-NPfITUK10.sourceOf1', 'templateId'),
    el(name, { classCode: 'SBADM', moodCode: 'RQO' }, [uuidId(uuid)]),
  ]);

/** The prescription's status after the dispensing (PS), from its Extension-EPS-TaskBusinessStatus. */
export const prescriptionStatus = (status: Coding, expression: string): XmlNode =>
  observation('pertinentInformation3', false, 'pertinentPrescriptionStatus', 'PS', code(required(status.code, expression), '2.16.840.1.113883.2.1.3.2.4.16.35', status.display, 'value'));

/** An item's status after the dispensing (IS), a medicationdispense-type code. */
export const itemStatus = (status: Coding, expression: string): XmlNode =>
  observation('pertinentInformation3', false, 'pertinentItemStatus', 'IS', code(required(status.code, expression), '2.16.840.1.113883.2.1.3.2.4.17.23', status.display, 'value'));

/** Why an item was not dispensed (NDR). */
export const nonDispensingReason = (reason: Coding, expression: string): XmlNode =>
  observation('pertinentInformation2', false, 'pertinentNonDispensingReason', 'NDR', code(required(reason.code, expression), '2.16.840.1.113883.2.1.3.2.4.16.31', reason.display, 'value'));

/**
 * Which issue of a repeat-dispensing prescription this is, from an Extension-EPS-RepeatInformation:
 * the issues before it plus one, of those allowed plus one (1..6 for 5 repeats, none issued).
 */
export function repeatIssue(information: Extension | undefined, expression: string): XmlNode {
  const allowed = required(extensionOf(information, 'numberOfRepeatsAllowed')?.valueInteger, `${expression}.numberOfRepeatsAllowed`);
  const issued = extensionOf(information, 'numberOfRepeatsIssued')?.valueInteger ?? 0;
  return repeatNumber(allowed + 1, issued + 1);
}

/** The message this one replaces: an amended dispense notification or claim. */
export const replacementOf = (messageId: string): XmlNode => el('replacementOf', { typeCode: 'RPLC' }, [el('priorMessageRef', { classCode: 'INFO', moodCode: 'EVN' }, [uuidId(messageId)])]);

/**
 * A product given, as a component of a supplied line item: its quantity and product, then what is
 * said of it (supply instructions in a dispense notification; charge and endorsements in a claim).
 * A dispense notification names the product given as an INSTANCE, a claim as a KIND (the examples).
 */
export function suppliedProduct(given: Quantity | undefined, product: { code: string; display?: string | undefined }, determinerCode: 'INSTANCE' | 'KIND', expression: string, information: XmlNode[]): XmlNode {
  return el('component', { typeCode: 'COMP' }, [
    seperatableInd(false),
    el('suppliedLineItemQuantity', { classCode: 'SPLY', moodCode: 'EVN' }, [
      DISPENSING(),
      quantity(given?.value, given?.code, given?.unit, expression),
      el('product', { contextControlCode: 'OP', typeCode: 'PRD' }, [
        el('suppliedManufacturedProduct', { classCode: 'MANU' }, [el('manufacturedSuppliedMaterial', { classCode: 'MMAT', determinerCode }, [snomed(product.code, product.display)])]),
      ]),
      ...information,
    ]),
  ]);
}
