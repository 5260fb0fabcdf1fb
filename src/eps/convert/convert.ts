// $convert: a FHIR message EPS accepts, as the HL7 v3 message EPS would send to Spine for it
// (../shared/specs/README.md section 2, "$convert (→ HL7 v3)"; the examples' *-Convert-Response-*.xml).
// It reads and checks the message as its own endpoint would, and writes nothing.
import type { Actor } from '../../platform/context.ts';
import { EpsErrors } from '../errors.ts';
import { messageEventOf } from '../order.ts';
import { hl7Message } from './envelope.ts';
import { parentPrescription, SEND_INTERACTION } from './parent-prescription.ts';
import { toXml } from './xml.ts';

export type Conversion = { xml: string; patientNhsNumbers: string[] };

export function convertToHl7v3(body: unknown, actor: Actor | undefined, now: Date = new Date()): Conversion {
  const { bundle, event } = messageEventOf(body);
  switch (event) {
    case 'prescription-order': {
      const { payload, patientNhsNumber } = parentPrescription(bundle);
      // The message id is the bundle's, as ParentPrescription's own id is (1-Convert-Response-Send-200_OK.xml).
      return { xml: toXml(hl7Message(SEND_INTERACTION, bundle.identifier?.value ?? '', actor, now, payload)), patientNhsNumbers: [patientNhsNumber] };
    }
    default:
      throw EpsErrors.unsupportedMessage(event);
  }
}
