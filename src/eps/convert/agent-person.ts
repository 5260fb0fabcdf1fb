// The prescriber as HL7 v3 writes them: an AgentPerson (role profile, job role, telecom), the
// person with an identifier and name, and the organisation they represent with its commissioner
// (healthCareProviderLicense). The author and responsibleParty of a ParentPrescription
// (examples/**/1-Convert-Response-Send-200_OK.xml) and of a CancellationRequest
// (examples/**/cancellations/*-Convert-Response-Cancel-200_OK.xml) are both this.
import type { Address, Bundle, ContactPoint, HealthcareService, Identifier, Location, MedicationRequest, Organization, Practitioner, PractitionerRole, Reference } from '@medplum/fhirtypes';
import { EpsErrors } from '../errors.ts';
import { extensionOf, identifierOf, ODS_SYSTEM, resolve, ROLE_PROFILE_SYSTEM, USER_ID_SYSTEM } from '../fhir-read.ts';
import { address, code, id, name, OID, organisationIdAndType, required, telecom } from './hl7.ts';
import { el, textEl, type XmlNode } from './xml.ts';

const JOB_ROLE_SYSTEMS = ['https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode', 'https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName'];
/** The professional registers whose code identifies a prescriber; a GMC number is written without its leading C. */
const PROFESSIONAL_CODE_SYSTEMS = ['gmc-number', 'gmp-number', 'nmc-number', 'gphc-number', 'hcpc-number', 'professional-code'].map((suffix) => `https://fhir.hl7.org.uk/Id/${suffix}`);
const SPURIOUS_CODE_SYSTEM = 'https://fhir.hl7.org.uk/Id/nhsbsa-spurious-code';
const DIN_SYSTEM = 'https://fhir.hl7.org.uk/Id/din-number';

/** Who the person is for the author: their one professional code. */
function professionalCodeOf(identifiers: Identifier[]): string {
  const codes = identifiers
    .filter((identifier) => PROFESSIONAL_CODE_SYSTEMS.includes(identifier.system ?? '') && identifier.value)
    .map((identifier) => (identifier.system?.endsWith('gmc-number') ? (identifier.value ?? '').replace(/^C/i, '') : identifier.value ?? ''));
  const [only, ...more] = codes;
  if (only === undefined || more.length > 0) {
    throw EpsErrors.invalidMessage(`Expected exactly one professional code (GMC, GMP, NMC, GPhC, HCPC or professional-code), found ${codes.length}`, 'Practitioner.identifier');
  }
  return only;
}

/** Who the person is for the responsible party: a spurious code, else a DIN, else the author's professional code. */
function prescribingCodeOf(identifiers: Identifier[], roleIdentifiers: Identifier[]): string {
  return identifierOf(roleIdentifiers, SPURIOUS_CODE_SYSTEM) ?? identifierOf(identifiers, DIN_SYSTEM) ?? professionalCodeOf(identifiers);
}

/**
 * Whom the AgentPerson is for. A prescription names its author by professional code and its
 * responsible party by prescribing code, each with the commissioner of their organisation; a
 * cancellation names both by SDS user id, without commissioner, and with no person or telecom
 * where the message has none (the Cancel examples, responsible-party-org/cancellations/3).
 */
export type AgentPersonStyle = 'prescription-author' | 'prescription-responsible-party' | 'cancellation';

/** The SDS job role code of a PractitionerRole, when it gives one. */
export function jobRoleOf(role: PractitionerRole): string | undefined {
  return role.code?.flatMap((concept) => concept.coding ?? []).find((coding) => JOB_ROLE_SYSTEMS.includes(coding.system ?? ''))?.code;
}

/** Who is responsible for a prescription: the ResponsiblePractitioner it names, else its requester. */
export function responsiblePartyOf(request: MedicationRequest): Reference | undefined {
  return extensionOf(request, 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-ResponsiblePractitioner')?.valueReference ?? request.requester;
}

/**
 * The AgentPerson of a PractitionerRole in a message bundle. Its practitioner, organisation and
 * healthcare service are resources in the bundle, or named by identifier and display only
 * (prescription-refactor/1-Process-Request-Send-200_OK.json).
 */
export function agentPerson(bundle: Bundle, roleReference: Reference | undefined, style: AgentPersonStyle): XmlNode {
  const role = resolve<PractitionerRole>(bundle, roleReference?.reference);
  if (role?.resourceType !== 'PractitionerRole') throw EpsErrors.invalidMessage('The prescriber must be a PractitionerRole in the bundle', 'PractitionerRole');
  const practitioner = resolve<Practitioner>(bundle, role.practitioner?.reference);
  const organisation = resolve<Organization>(bundle, role.organization?.reference);
  const roleProfileId = identifierOf(role.identifier, ROLE_PROFILE_SYSTEM);
  const jobRole = jobRoleOf(role);
  const prescription = style !== 'cancellation';
  // The telecom is the role's, else the practitioner's, else in a prescription (a responsible party
  // named only by an identifier, as responsible-party-org/3 is) the organisation's.
  const contacts = role.telecom ?? (practitioner ? practitioner.telecom : prescription ? organisation?.telecom : undefined) ?? [];
  const contactPath = role.telecom ? 'PractitionerRole.telecom' : practitioner ? 'Practitioner.telecom' : 'Organization.telecom';
  if (prescription && contacts.length === 0) throw EpsErrors.invalidMessage('The prescriber must have at least one telecom', contactPath);
  return el('AgentPerson', { classCode: 'AGNT' }, [
    roleProfileId !== undefined && id(OID.sdsRoleProfile, roleProfileId),
    jobRole !== undefined && code(jobRole, OID.sdsJobRole),
    ...contacts.map((contact) => telecom(contact, contactPath)),
    (prescription || practitioner) && person(role, practitioner, organisation, style),
    representedOrganisation(bundle, role, organisation, prescription),
  ]);
}

function person(role: PractitionerRole, practitioner: Practitioner | undefined, organisation: Organization | undefined, style: AgentPersonStyle): XmlNode {
  const identifiers = practitioner?.identifier ?? (role.practitioner?.identifier ? [role.practitioner.identifier] : []);
  const personId =
    style === 'cancellation' ? id(OID.sdsUser, required(identifierOf(identifiers, USER_ID_SYSTEM), 'Practitioner.identifier'))
    : id(OID.professionalCode, style === 'prescription-author' ? professionalCodeOf(identifiers) : prescribingCodeOf(identifiers, role.identifier ?? []));
  const [personName, ...otherNames] = practitioner?.name ?? [];
  if (otherNames.length > 0) throw EpsErrors.invalidMessage('The Practitioner must have one name', 'Practitioner.name');
  // A practitioner named by identifier has the reference's display as name, or else (a responsible
  // party that is an organisation, responsible-party-org/3) the organisation's name.
  const text = practitioner ? undefined : role.practitioner?.display ?? organisation?.name;
  return el('agentPerson', { classCode: 'PSN', determinerCode: 'INSTANCE' }, [
    personId,
    personName ? name(personName, 'Practitioner.name') : textEl('name', required(text, 'PractitionerRole.practitioner.display')),
  ]);
}

type CostCentre = { ods: string | undefined; name: string | undefined; contact: ContactPoint | undefined; address: Address | undefined; path: string };

/**
 * Where the prescriber works: the HealthcareService of the role (its Location's address), or its
 * organisation. One named only by identifier takes the role's telecom and the role's Location.
 */
function costCentreOf(bundle: Bundle, role: PractitionerRole, organisation: Organization | undefined): CostCentre {
  const serviceReference = role.healthcareService?.[0];
  const roleLocation = resolve<Location>(bundle, role.location?.[0]?.reference)?.address;
  const single = <T>(list: T[] | undefined, path: string): T | undefined => {
    if ((list?.length ?? 0) > 1) throw EpsErrors.invalidMessage(`${path} must have one value`, path);
    return list?.[0];
  };
  if (serviceReference) {
    const service = resolve<HealthcareService>(bundle, serviceReference.reference);
    if (service?.resourceType === 'HealthcareService') {
      const address = resolve<Location>(bundle, service.location?.[0]?.reference)?.address;
      return { ods: identifierOf(service.identifier, ODS_SYSTEM), name: service.name, contact: single(service.telecom, 'HealthcareService.telecom'), address, path: 'HealthcareService' };
    }
    return { ods: serviceReference.identifier?.value, name: serviceReference.display, contact: single(role.telecom, 'PractitionerRole.telecom'), address: roleLocation, path: 'PractitionerRole.healthcareService' };
  }
  if (organisation?.resourceType === 'Organization') {
    return { ods: identifierOf(organisation.identifier, ODS_SYSTEM), name: organisation.name, contact: single(organisation.telecom, 'Organization.telecom'), address: single(organisation.address, 'Organization.address'), path: 'Organization' };
  }
  return { ods: role.organization?.identifier?.value, name: role.organization?.display, contact: single(role.telecom, 'PractitionerRole.telecom'), address: roleLocation, path: 'PractitionerRole.organization' };
}

function representedOrganisation(bundle: Bundle, role: PractitionerRole, organisation: Organization | undefined, withProviderLicense: boolean): XmlNode {
  const costCentre = costCentreOf(bundle, role, organisation);
  const path = costCentre.path;
  return el('representedOrganization', { classCode: 'ORG', determinerCode: 'INSTANCE' }, [
    ...organisationIdAndType(required(costCentre.ods, `${path}.identifier`)),
    textEl('name', required(costCentre.name, `${path}.name`)),
    telecom(required(costCentre.contact, `${path}.telecom`), `${path}.telecom`),
    address(required(costCentre.address, `${path}.address`), `${path}.address`),
    withProviderLicense && providerLicense(bundle, role, organisation),
  ]);
}

/** The organisation that commissions the prescriber's: its partOf, or itself when it is part of none. */
function providerLicense(bundle: Bundle, role: PractitionerRole, organisation: Organization | undefined): XmlNode {
  const partOf = organisation?.partOf;
  const parent = resolve<Organization>(bundle, partOf?.reference);
  const [ods, parentName] = !organisation
    ? [role.organization?.identifier?.value, role.organization?.display]
    : partOf
      ? [parent ? identifierOf(parent.identifier, ODS_SYSTEM) : partOf.identifier?.value, parent?.name ?? partOf.display]
      : [identifierOf(organisation.identifier, ODS_SYSTEM), organisation.name];
  return el('healthCareProviderLicense', { classCode: 'PROV' }, [
    el('Organization', { classCode: 'ORG', determinerCode: 'INSTANCE' }, [
      ...organisationIdAndType(required(ods, 'Organization.partOf.identifier')),
      textEl('name', required(parentName, 'Organization.partOf.display')),
    ]),
  ]);
}
