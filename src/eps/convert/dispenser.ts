// The pharmacist of a dispensing message as HL7 v3 writes them: an AgentPerson of their role
// profile, job role and telecom, named by SDS user id, at the pharmacy they represent (the author of
// examples/**/N-Convert-Response-{Release,Return,Dispense,Claim}-200_OK.xml).
import type { Bundle, Organization, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { EpsErrors } from '../errors.ts';
import { identifierOf, ODS_SYSTEM, resolve, ROLE_PROFILE_SYSTEM, USER_ID_SYSTEM } from '../fhir-read.ts';
import { jobRoleOf } from './agent-person.ts';
import { address, code, id, OID, organisationIdAndType, required, telecom } from './hl7.ts';
import { el, textEl, type XmlNode } from './xml.ts';

const NO_BUNDLE: Bundle = { resourceType: 'Bundle', type: 'collection' };

/**
 * The pharmacist a dispensing message names (a PractitionerRole contained in the resource that
 * references it) and the pharmacy of their role, contained too or an entry of the message bundle.
 */
export function pharmacistOf(reference: string | undefined, contained: Resource[] | undefined, path: string, bundle: Bundle = NO_BUNDLE): { role: PractitionerRole; pharmacy: Organization } {
  const role = resolve<PractitionerRole>(bundle, reference, contained);
  if (role?.resourceType !== 'PractitionerRole') throw EpsErrors.invalidMessage(`${path} must reference a contained PractitionerRole`, path);
  const pharmacy = resolve<Organization>(bundle, role.organization?.reference, contained);
  if (pharmacy?.resourceType !== 'Organization') throw EpsErrors.invalidMessage("The PractitionerRole's organization must be an Organization in the message", `${path}.organization`);
  return { role, pharmacy };
}

/**
 * The AgentPerson of a dispensing PractitionerRole (its practitioner named by identifier and
 * display) at `pharmacy`. The person's SDS user id is written with the professional code root, as
 * every dispensing example has it; the pharmacy without a telecom takes the role's.
 */
export function dispenser(role: PractitionerRole, pharmacy: Organization, path: string): XmlNode {
  const contact = required(role.telecom?.[0], `${path}.telecom`);
  const jobRole = jobRoleOf(role);
  return el('AgentPerson', { classCode: 'AGNT' }, [
    id(OID.sdsRoleProfile, required(identifierOf(role.identifier, ROLE_PROFILE_SYSTEM), `${path}.identifier`)),
    jobRole !== undefined && code(jobRole, OID.sdsJobRole),
    telecom(contact, `${path}.telecom`),
    el('agentPerson', { classCode: 'PSN', determinerCode: 'INSTANCE' }, [
      id(OID.professionalCode, required(identifierOf(role.practitioner?.identifier, USER_ID_SYSTEM), `${path}.practitioner.identifier`)),
      role.practitioner?.display !== undefined && textEl('name', role.practitioner.display),
    ]),
    el('representedOrganization', { classCode: 'ORG', determinerCode: 'INSTANCE' }, [
      ...organisationIdAndType(required(identifierOf(pharmacy.identifier, ODS_SYSTEM), 'Organization.identifier')),
      pharmacy.name !== undefined && textEl('name', pharmacy.name),
      telecom(pharmacy.telecom?.[0] ?? contact, 'Organization.telecom'),
      pharmacy.address?.[0] !== undefined && address(pharmacy.address[0], 'Organization.address'),
    ]),
  ]);
}
