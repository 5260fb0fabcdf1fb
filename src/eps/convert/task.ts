// A return or withdrawal Task as HL7 v3: a return (status rejected) is PORX_IN100101SM31
// DispenseProposalReturn (2-Convert-Response-Return-200_OK.xml from 2-Task-Request-Return-200_OK.json),
// a withdrawal (code abort) PORX_IN510101SM31 ETPWithdraw (3-Convert-Response-Withdraw-200_OK.xml),
// both in examples/secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner.
import type { Task } from '@medplum/fhirtypes';
import { readTask } from '../dispense-messages.ts';
import { extensionOf, identifierOf, ODS_SYSTEM, REPEAT_INFORMATION, ROLE_PROFILE_SYSTEM } from '../fhir-read.ts';
import { dispenser, pharmacistOf } from './dispenser.ts';
import { code, id, observation, OID, prescriptionIdObservation, required, seperatableInd, timestamp, uuidId } from './hl7.ts';
import { el, type XmlNode } from './xml.ts';

const RETURN_INTERACTION = 'PORX_IN100101SM31';
const WITHDRAW_INTERACTION = 'PORX_IN510101SM31';

type TaskConversion = { interaction: string; messageId: string; payload: XmlNode; patientNhsNumber: string };

/** The return or withdrawal the Task asks for; its id is the message's, as in both examples. */
export function taskMessage(body: unknown): TaskConversion {
  const { kind, shortId, patientNhsNumber } = readTask(body);
  const task = body as Task;
  const messageId = required(task.identifier?.[0]?.value, 'Task.identifier');
  const { role, pharmacy } = pharmacistOf(task.requester?.reference, task.contained, 'Task.requester');
  const reason = required(task.statusReason?.coding?.[0], 'Task.statusReason');
  const reasonCode = required(reason.code, 'Task.statusReason');
  const focus = required(task.focus?.identifier?.value, 'Task.focus.identifier');
  const effectiveTime = timestamp('effectiveTime', required(task.authoredOn, 'Task.authoredOn'), 'Task.authoredOn');
  const repeatsIssued = extensionOf(extensionOf(task, REPEAT_INFORMATION), 'numberOfRepeatsIssued')?.valueInteger;
  const common = { messageId, patientNhsNumber };
  if (kind === 'return') {
    return {
      ...common,
      interaction: RETURN_INTERACTION,
      payload: el('DispenseProposalReturn', { classCode: 'INFO', moodCode: 'EVN' }, [
        uuidId(messageId),
        effectiveTime,
        el('author', { typeCode: 'AUT' }, [dispenser(role, pharmacy, 'Task.contained.ofType(PractitionerRole)')]),
        prescriptionIdObservation('pertinentInformation1', shortId),
        repeatsIssued !== undefined && repeatInstance(repeatsIssued, 'pertinentInformation2'),
        observation('pertinentInformation3', false, 'pertinentReturnReason', 'RR', code(reasonCode, '2.16.840.1.113883.2.1.3.2.4.16.28', reason.display, 'value'), { contextConductionInd: 'false' }),
        el('reversalOf', { inversionInd: 'true', negationInd: 'false', typeCode: 'REV' }, [
          seperatableInd(true),
          el('priorPrescriptionReleaseResponseRef', { classCode: 'INFO', moodCode: 'EVN' }, [uuidId(focus)]),
        ]),
      ]),
    };
  }
  return {
    ...common,
    interaction: WITHDRAW_INTERACTION,
    payload: el('ETPWithdraw', { classCode: 'ALRT', moodCode: 'EVN' }, [
      uuidId(messageId),
      effectiveTime,
      el('recordTarget', { typeCode: 'RCT' }, [el('patient', { classCode: 'PAT' }, [id(OID.nhsNumber, patientNhsNumber)])]),
      el('author', { typeCode: 'AUT' }, [
        el('AgentPersonSDS', { classCode: 'AGNT' }, [
          id(OID.sdsRoleProfile, required(identifierOf(role.identifier, ROLE_PROFILE_SYSTEM), 'Task.contained.ofType(PractitionerRole).identifier')),
          // The example names the person by their pharmacy's ODS code, under the SDS user id root.
          el('agentPersonSDS', { classCode: 'PSN', determinerCode: 'INSTANCE' }, [id(OID.sdsUser, required(identifierOf(pharmacy.identifier, ODS_SYSTEM), 'Organization.identifier'))]),
        ]),
      ]),
      repeatsIssued !== undefined && repeatInstance(repeatsIssued, 'pertinentInformation1'),
      observation('pertinentInformation3', false, 'pertinentWithdrawID', 'WID', id(OID.shortFormPrescriptionId, shortId, 'value'), { contextConductionInd: 'false' }),
      // The only withdrawal type EPS sends: the last dispense (LD) is withdrawn.
      observation('pertinentInformation2', false, 'pertinentWithdrawType', 'PWT', code('LD', '2.16.840.1.113883.2.1.3.2.4.17.109', 'Last Dispense', 'value')),
      observation('pertinentInformation5', false, 'pertinentWithdrawReason', 'PWR', code(reasonCode, '2.16.840.1.113883.2.1.3.2.4.17.110', reason.display, 'value')),
      el('pertinentInformation4', { inversionInd: 'false', negationInd: 'false', typeCode: 'PERT' }, [
        seperatableInd(true),
        el('pertinentDispenseNotificationRef', { classCode: 'INFO', moodCode: 'EVN' }, [uuidId(focus)]),
      ]),
    ]),
  };
}

/** Which issue of a repeat-dispensing prescription the Task is about (RPI). */
function repeatInstance(issued: number, wrapper: string): XmlNode {
  return observation(wrapper, false, 'pertinentRepeatInstanceInfo', 'RPI', el('value', { value: String(issued) }));
}
