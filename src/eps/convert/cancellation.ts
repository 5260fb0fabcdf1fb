// A prescription-order-update (cancel) message as PORX_IN030101SM32, the HL7 v3 CancellationRequest
// (examples/**/cancellations/N-Convert-Response-Cancel-200_OK.xml from N-Process-Request-Cancel-200_OK.json).
import type { Bundle, MedicationRequest } from '@medplum/fhirtypes';
import { resourcesOf } from '../fhir-read.ts';
import { agentPerson, responsiblePartyOf } from './agent-person.ts';
import { code, hl7Time, OID, prescriptionIdObservation, required, seperatableInd, uuidId } from './hl7.ts';
import { patientOf, recordTarget } from './patient.ts';
import { itemIdOf, prescriptionIdsOf } from './request-ids.ts';
import { el, textEl, type XmlNode } from './xml.ts';

export const CANCEL_INTERACTION = 'PORX_IN030101SM32';
const STATUS_REASON_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationrequest-status-reason';

/** The CancellationRequest of the message's first MedicationRequest, made now, with its patient's NHS number. */
export function cancellationRequest(bundle: Bundle, now: Date): { payload: XmlNode; patientNhsNumber: string } {
  const request = required(resourcesOf<MedicationRequest>(bundle, 'MedicationRequest')[0], 'Bundle.entry.resource.ofType(MedicationRequest)');
  const { patient, nhsNumber } = patientOf(bundle, request);
  const { shortId, longId } = prescriptionIdsOf(request);
  const reason = request.statusReason?.coding?.find((coding) => coding.system === STATUS_REASON_SYSTEM);
  const payload = el('CancellationRequest', { classCode: 'INFO', moodCode: 'EVN' }, [
    uuidId(required(bundle.identifier?.value, 'Bundle.identifier')),
    el('effectiveTime', { value: hl7Time(now) }),
    recordTarget(patient),
    el('author', { typeCode: 'AUT' }, [agentPerson(bundle, request.requester, 'cancellation')]),
    el('responsibleParty', { typeCode: 'RESP' }, [agentPerson(bundle, responsiblePartyOf(request), 'cancellation')]),
    prescriptionIdObservation('pertinentInformation2', shortId),
    el('pertinentInformation1', { inversionInd: 'false', negationInd: 'false', typeCode: 'PERT' }, [
      seperatableInd(true),
      el('pertinentLineItemRef', { classCode: 'SBADM', moodCode: 'RQO' }, [uuidId(itemIdOf(request))]),
    ]),
    el('pertinentInformation', { contextConductionInd: 'true', typeCode: 'PERT' }, [
      seperatableInd(false),
      el('pertinentCancellationReason', { classCode: 'OBS', moodCode: 'EVN' }, [
        code('CR', OID.observationType),
        reason?.display !== undefined && textEl('text', reason.display),
        code(required(reason?.code, 'MedicationRequest.statusReason'), '2.16.840.1.113883.2.1.3.2.4.16.27', undefined, 'value'),
      ]),
    ]),
    el('pertinentInformation3', { contextConductionInd: 'false', typeCode: 'PERT' }, [
      seperatableInd(true),
      el('pertinentOriginalPrescriptionRef', { classCode: 'SBADM', moodCode: 'RQO' }, [uuidId(longId)]),
    ]),
  ]);
  return { payload, patientNhsNumber: nhsNumber };
}
