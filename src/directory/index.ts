// The Spine Directory Service: organisations (ODS codes), systems (ASIDs) and messaging endpoints.
// Reads follow the SDS FHIR API base; writes are OpenSpine's own administration addition.
import { registerFhirApi } from '../platform/fhir/routes.ts';
import type { Organization } from '@medplum/fhirtypes';
import type { Database } from '../platform/db/connect.ts';
import { searchResources, type FhirStore } from '../platform/fhir/resources.ts';
import { SEARCH_LIMITS } from '../platform/fhir/search-query.ts';
import { ODS_CODE_SYSTEM } from '../platform/identifiers/ods-code.ts';
import { ADMIN_SCOPE } from '../platform/http/access.ts';
import type { ServiceModule } from '../platform/http/app.ts';
import { DIRECTORY_RESOURCES } from './resources.ts';
import { GP_PRACTICE_ROLE, ORGANISATION_TYPE, seedDirectory } from './seed.ts';

export const DIRECTORY_BASE = '/spine-directory/FHIR/R4';

function directoryStore(deps: { db: Database }): FhirStore {
  return { db: deps.db, resources: new Map(DIRECTORY_RESOURCES.map((definition) => [definition.resourceType, definition])) };
}

/** The name of the organisation with this ODS code, if the directory has it. */
export async function organisationName(db: Database, ods: string): Promise<string | undefined> {
  const { result } = await searchResources(directoryStore({ db }), 'Organization', { identifier: `${ODS_CODE_SYSTEM}|${ods}`, _count: '1' });
  const match = result.matches[0];
  return match && (JSON.parse(match.json) as Organization).name;
}

/**
 * The ODS codes of the GP practices the directory holds (Organizations of type organisation-role 76
 * "GP PRACTICE"), sorted; those marked inactive are left out. Read a page at a time, by id.
 */
export async function gpPracticeCodes(db: Database): Promise<string[]> {
  const codes = new Set<string>();
  const count = SEARCH_LIMITS.maxCount;
  for (let offset = 0; ; offset += count) {
    if (offset > SEARCH_LIMITS.maxOffset) throw new Error(`The directory holds more than ${offset} GP practices, more than a search pages through`);
    const query = { type: `${ORGANISATION_TYPE}|${GP_PRACTICE_ROLE}`, _sort: '_id', _count: String(count), _offset: String(offset) };
    const { result } = await searchResources(directoryStore({ db }), 'Organization', query);
    for (const match of result.matches) {
      const organisation = JSON.parse(match.json) as Organization;
      const ods = organisation.identifier?.find((identifier) => identifier.system === ODS_CODE_SYSTEM)?.value;
      if (ods && organisation.active !== false) codes.add(ods.toUpperCase());
    }
    if (!result.hasMore) return [...codes].sort();
  }
}

export const directoryService: ServiceModule = {
  name: 'directory',
  register(app, deps) {
    registerFhirApi(app, {
      name: 'OpenSpine Spine Directory Service',
      base: DIRECTORY_BASE,
      publicBaseUrl: deps.config.publicBaseUrl,
      fhir: directoryStore(deps),
      access: {
        read: { modes: ['application-restricted', 'healthcare-worker', 'system'] },
        write: { modes: ['application-restricted', 'healthcare-worker', 'system'], scope: ADMIN_SCOPE },
      },
      // Organisations, systems and endpoints: the directory holds no patient's data.
      patientData: false,
    });
  },
  async seed(deps) {
    const created = await seedDirectory(directoryStore(deps));
    if (created > 0) deps.log.info({ created }, 'demo organisations seeded');
  },
};
