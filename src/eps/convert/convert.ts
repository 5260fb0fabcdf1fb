// $convert: a FHIR message EPS accepts, as the HL7 v3 message EPS would send to Spine for it
// (../shared/specs/README.md section 2, "$convert (→ HL7 v3)"; the examples' *-Convert-Response-*.xml).
// It is a translation: it refuses what it cannot write (and a dispensing message its endpoint's
// reader refuses), not what $process-message would, and it writes nothing.
import type { Actor } from '../../platform/context.ts';
import { EpsErrors } from '../errors.ts';
import { isResource } from '../fhir-read.ts';
import { messageEventOf } from '../order.ts';
import { CANCEL_INTERACTION, cancellationRequest } from './cancellation.ts';
import { CLAIM_INTERACTION, dispenseClaim } from './dispense-claim.ts';
import { DISPENSE_INTERACTION, dispenseNotification } from './dispense-notification.ts';
import { hl7Message } from './envelope.ts';
import { required } from './hl7.ts';
import { parentPrescription, SEND_INTERACTION } from './parent-prescription.ts';
import { releaseRequest } from './release-request.ts';
import { taskMessage } from './task.ts';
import { toXml, type XmlNode } from './xml.ts';

export type Conversion = { xml: string; patientNhsNumbers: string[] };

/** The HL7 v3 message for a $process-message Bundle, a Task/$release Parameters, a return or withdrawal Task, or a Claim. */
export function convertToHl7v3(body: unknown, actor: Actor | undefined, now: Date = new Date()): Conversion {
  const write = (interaction: string, messageId: string, payload: XmlNode) => toXml(hl7Message(interaction, messageId, actor, now, payload));
  if (isResource(body, 'Parameters')) {
    const { interaction, messageId, payload } = releaseRequest(body, now);
    return { xml: write(interaction, messageId, payload), patientNhsNumbers: [] };
  }
  if (isResource(body, 'Claim')) {
    const { messageId, payload, patientNhsNumber } = dispenseClaim(body);
    return { xml: write(CLAIM_INTERACTION, messageId, payload), patientNhsNumbers: [patientNhsNumber] };
  }
  if (isResource(body, 'Task')) {
    const { interaction, messageId, payload, patientNhsNumber } = taskMessage(body);
    return { xml: write(interaction, messageId, payload), patientNhsNumbers: [patientNhsNumber] };
  }
  const { bundle, event } = messageEventOf(body);
  // The message id is the bundle's, as the payload's own id is (1-Convert-Response-Send-200_OK.xml).
  const message = (interaction: string, { payload, patientNhsNumber }: { payload: XmlNode; patientNhsNumber: string }): Conversion =>
    ({ xml: write(interaction, required(bundle.identifier?.value, 'Bundle.identifier'), payload), patientNhsNumbers: [patientNhsNumber] });
  switch (event) {
    case 'prescription-order':
      return message(SEND_INTERACTION, parentPrescription(bundle, now));
    case 'prescription-order-update':
      return message(CANCEL_INTERACTION, cancellationRequest(bundle, now));
    case 'dispense-notification':
      return message(DISPENSE_INTERACTION, dispenseNotification(bundle, now));
    default:
      throw EpsErrors.unsupportedMessage(event);
  }
}
