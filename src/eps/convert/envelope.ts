// The HL7 v3 message around every converted payload: the transmission wrapper (message id, time,
// interaction, sending and receiving systems) and the ControlActEvent naming who sent it, as
// every examples/**/*-Convert-Response-*.xml has them.
import type { Actor } from '../../platform/context.ts';
import { hl7Time, id, OID, uuidId } from './hl7.ts';
import { el, type XmlNode } from './xml.ts';

/**
 * The systems that send and receive the message. OpenSpine knows no ASID of the calling system
 * (its token names an application, not a Spine accredited system), so both ends are named by
 * OpenSpine's own EPS system; the examples show the NHS sandbox's own values here.
 */
const OPENSPINE_EPS_ASID = '999000000001';

const device = (asid: string, name = 'device') => el(name, { classCode: 'DEV', determinerCode: 'INSTANCE' }, [id(OID.asid, asid)]);

/** The whole message: `interaction` is its root element and interactionId, `payload` its subject. */
export function hl7Message(interaction: string, messageId: string, actor: Actor | undefined, now: Date, payload: XmlNode): XmlNode {
  return el(interaction, { xmlns: 'urn:hl7-org:v3' }, [
    uuidId(messageId),
    el('creationTime', { value: hl7Time(now) }),
    el('versionCode', { code: 'V3NPfIT4.2.00' }),
    id(OID.interaction, interaction, 'interactionId'),
    el('processingCode', { code: 'P' }),
    el('processingModeCode', { code: 'T' }),
    el('acceptAckCode', { code: 'NE' }),
    el('communicationFunctionRcv', {}, [device(OPENSPINE_EPS_ASID)]),
    el('communicationFunctionSnd', {}, [device(OPENSPINE_EPS_ASID)]),
    el('ControlActEvent', { classCode: 'CACT', moodCode: 'EVN' }, [
      el('author', { typeCode: 'AUT' }, [sender(actor)]),
      el('author1', { typeCode: 'AUT' }, [el('AgentSystemSDS', { classCode: 'AGNT' }, [device(OPENSPINE_EPS_ASID, 'agentSystemSDS')])]),
      el('subject', {}, [payload]),
    ]),
  ]);
}

/** The signed-in user who asked for the conversion: their role profile and user id; the job role is not known (UNKNOWN, as the examples). */
function sender(actor: Actor | undefined): XmlNode {
  return el('AgentPersonSDS', { classCode: 'AGNT' }, [
    id(OID.sdsRoleProfile, actor?.roleProfileId ?? 'UNKNOWN'),
    el('agentPersonSDS', { classCode: 'PSN', determinerCode: 'INSTANCE' }, [id(OID.sdsUser, actor?.userId ?? 'UNKNOWN')]),
    el('part', { typeCode: 'PART' }, [el('partSDSRole', { classCode: 'ROL' }, [id(OID.sdsJobRole, 'UNKNOWN')])]),
  ]);
}
