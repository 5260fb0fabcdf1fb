// Demo organisations seeded on first start: one of each kind other services need.
import type { Organization } from '@medplum/fhirtypes';
import { createResource, searchResources, type FhirStore } from '../platform/fhir/resources.ts';
import { ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';

/** The kinds of organisation, as ODS role codes: 76 is a GP practice (index.ts finds them by it). */
export const ORGANISATION_TYPE = 'https://fhir.nhs.uk/CodeSystem/organisation-role';
export const GP_PRACTICE_ROLE = '76';

const DEMO_ORGANISATIONS: { ods: string; name: string; role: string; roleName: string; postcode: string }[] = [
  { ods: 'A83008', name: 'OpenSpine Demo GP Practice', role: GP_PRACTICE_ROLE, roleName: 'GP PRACTICE', postcode: 'DL14 6AA' },
  { ods: 'FCG71', name: 'OpenSpine Demo Pharmacy', role: '82', roleName: 'PHARMACY', postcode: 'LS1 4AP' },
  { ods: 'RBA', name: 'OpenSpine Demo Hospital Trust', role: '197', roleName: 'NHS TRUST', postcode: 'TA1 5DA' },
];

/** Creates each demo organisation that is not there yet; running it twice adds nothing. */
export async function seedDirectory(fhir: FhirStore): Promise<number> {
  let created = 0;
  for (const organisation of DEMO_ORGANISATIONS) {
    const { result } = await searchResources(fhir, 'Organization', { identifier: `${ODS_CODE_SYSTEM}|${organisation.ods}` });
    if (result.matches.length > 0) continue;
    const resource: Organization = {
      resourceType: 'Organization',
      identifier: [{ system: ODS_CODE_SYSTEM, value: organisation.ods }],
      active: true,
      type: [{ coding: [{ system: ORGANISATION_TYPE, code: organisation.role, display: organisation.roleName }] }],
      name: organisation.name,
      address: [{ postalCode: organisation.postcode, country: 'GB' }],
    };
    await createResource(fhir, 'Organization', resource);
    created++;
  }
  return created;
}
