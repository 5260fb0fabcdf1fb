// HL7 v3 datatypes as the EPS messages write them (the *-Convert-Response-*.xml examples):
// identifiers by OID, codes, timestamps in `YYYYMMDDHHMMSS` form, names, addresses and telecoms.
import type { Address, ContactPoint, HumanName } from '@medplum/fhirtypes';
import { EpsErrors } from '../errors.ts';
import { el, textEl, type XmlNode } from './xml.ts';

/** The OIDs the examples name identifiers and code systems by. */
export const OID = {
  sdsRoleProfile: '1.2.826.0.1285.0.2.0.67',
  sdsUser: '1.2.826.0.1285.0.2.0.65',
  sdsJobRole: '1.2.826.0.1285.0.2.1.104',
  professionalCode: '1.2.826.0.1285.0.2.1.54',
  ods: '1.2.826.0.1285.0.1.10',
  asid: '1.2.826.0.1285.0.2.0.107',
  nhsNumber: '2.16.840.1.113883.2.1.4.1',
  snomed: '2.16.840.1.113883.2.1.3.2.4.15',
  shortFormPrescriptionId: '2.16.840.1.113883.2.1.3.2.4.18.8',
  interaction: '2.16.840.1.113883.2.1.3.2.4.12',
  messageType: '2.16.840.1.113883.2.1.3.2.4.18.7',
  template: '2.16.840.1.113883.2.1.3.2.4.18.2',
  /** The codes of the observations a prescription carries (PTT, DSP, TI, PT, DI, AI, ...). */
  observationType: '2.16.840.1.113883.2.1.3.2.4.17.30',
  organisationType: '2.16.840.1.113883.2.1.3.2.4.17.94',
} as const;

/** A required value of the FHIR message; its absence is the client's INVALID_MESSAGE, never a 500. */
export function required<T>(value: T | undefined | null, expression: string): T {
  if (value === undefined || value === null || value === '') throw EpsErrors.invalidMessage(`${expression} is required`, expression);
  return value;
}

export const id = (root: string, extension?: string, name = 'id'): XmlNode => el(name, { extension, root });
/** A UUID as the examples write it: upper case, as the root of an id. */
export const uuidId = (uuid: string): XmlNode => el('id', { root: uuid.toUpperCase() });
export const code = (value: string, codeSystem: string, displayName?: string, name = 'code'): XmlNode => el(name, { code: value, codeSystem, displayName });
export const snomed = (value: string, displayName?: string, name = 'code'): XmlNode => code(value, OID.snomed, displayName, name);
export const seperatableInd = (value: boolean): XmlNode => el('seperatableInd', { value: String(value) });

/** The ids of an SDS organisation with its type, not specified (999) in every example. */
export const organisationIdAndType = (ods: string): XmlNode[] => [id(OID.ods, ods), code('999', OID.organisationType)];

/**
 * An observation of a prescription or line item: `<wrapper><seperatableInd/><observation>` with
 * its code from the observation types and its value, as pertinentInformation1..8 of the examples.
 */
export function observation(wrapper: string, seperatable: boolean, name: string, type: string, value: XmlNode, wrapperAttributes: Record<string, string> = {}): XmlNode {
  return el(wrapper, { contextConductionInd: 'true', ...wrapperAttributes, typeCode: 'PERT' }, [
    seperatableInd(seperatable),
    el(name, { classCode: 'OBS', moodCode: 'EVN' }, [code(type, OID.observationType), value]),
  ]);
}

/** The prescription's short-form id as an observation (PID), as cancellations, releases and returns carry it. */
export const prescriptionIdObservation = (wrapper: string, shortId: string): XmlNode =>
  observation(wrapper, false, 'pertinentPrescriptionID', 'PID', id(OID.shortFormPrescriptionId, shortId, 'value'));

const DIGITS = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/;

/**
 * A FHIR date or dateTime as HL7 v3 `YYYYMMDDHHMMSS`: a time with an offset is given in UTC, as the
 * examples give "2022-10-21T13:47:00+00:00" as 20221021134700; a date alone is its midnight.
 */
export function hl7DateTime(value: string, expression: string): string {
  const match = DIGITS.exec(value);
  if (!match) throw EpsErrors.invalidMessage(`${expression} '${value}' is not a FHIR date or dateTime`, expression);
  if (match[4] === undefined) return `${match[1]}${match[2]}${match[3]}000000`;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw EpsErrors.invalidMessage(`${expression} '${value}' is not a FHIR dateTime`, expression);
  return hl7Time(time);
}

/** A moment of OpenSpine's own (when a message is made or signed) as HL7 v3 `YYYYMMDDHHMMSS`, in UTC. */
export const hl7Time = (time: Date): string => time.toISOString().replace(/[-:T]/g, '').slice(0, 14);

/** A FHIR date (or the date of a dateTime) as HL7 v3 `YYYYMMDD`, as birthTime and the review date are written. */
export function hl7Date(value: string, expression: string): string {
  return hl7DateTime(value, expression).slice(0, 8);
}

export const timestamp = (name: string, value: string, expression: string): XmlNode => el(name, { value: hl7DateTime(value, expression) });

const NAME_USES: Record<string, string> = { usual: 'L', official: 'L', temp: 'A', anonymous: 'A', nickname: 'PREFERRED', old: 'PREVIOUS', maiden: 'PREVIOUS-MAIDEN' };

/** A person's name: prefix, given names, family, suffix, in that order. */
export function name(human: HumanName, expression: string): XmlNode {
  const use = human.use === undefined ? undefined : NAME_USES[human.use];
  if (human.use !== undefined && use === undefined) throw EpsErrors.invalidMessage(`Unsupported name use '${human.use}'`, `${expression}.use`);
  return el('name', { use }, [
    ...(human.prefix ?? []).map((part) => textEl('prefix', part)),
    ...(human.given ?? []).map((part) => textEl('given', part)),
    human.family !== undefined && textEl('family', human.family),
    ...(human.suffix ?? []).map((part) => textEl('suffix', part)),
  ]);
}

const ADDRESS_USES: Record<string, string> = { home: 'H', work: 'WP', temp: 'TMP', billing: 'PST' };

/** An address: its lines, then city, district and state as further lines, then the postcode. */
export function address(fhirAddress: Address, expression: string): XmlNode {
  const use = fhirAddress.use === undefined ? undefined : ADDRESS_USES[fhirAddress.use];
  if (fhirAddress.use !== undefined && use === undefined) throw EpsErrors.invalidMessage(`Unsupported address use '${fhirAddress.use}'`, `${expression}.use`);
  const lines = [...(fhirAddress.line ?? []), fhirAddress.city, fhirAddress.district, fhirAddress.state].filter((line): line is string => Boolean(line));
  return el('addr', { use }, [...lines.map((line) => textEl('streetAddressLine', line)), fhirAddress.postalCode !== undefined && textEl('postalCode', fhirAddress.postalCode)]);
}

const TELECOM_USES: Record<string, string> = { home: 'HP', work: 'WP', temp: 'TMP', mobile: 'MC' };

/** A phone number as a `tel:` URL without spaces ("0115 9737320" is tel:01159737320 in the examples). */
export function telecom(contact: ContactPoint, expression: string): XmlNode {
  const use = contact.use === undefined ? undefined : TELECOM_USES[contact.use];
  if (contact.use !== undefined && use === undefined) throw EpsErrors.invalidMessage(`Unsupported telecom use '${contact.use}'`, `${expression}.use`);
  const value = required(contact.value, `${expression}.value`).replace(/\s/g, '');
  return el('telecom', { use, value: contact.system === 'email' ? `mailto:${value}` : `tel:${value}` });
}
