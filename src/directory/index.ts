// The Spine Directory Service: organisations (ODS codes), systems (ASIDs) and messaging endpoints.
// Reads follow the SDS FHIR API base; writes are OpenSpine's own administration addition.
import { ADMIN_SCOPE } from '../identity/index.ts';
import { registerFhirApi } from '../platform/fhir/routes.ts';
import type { FhirStore } from '../platform/fhir/resources.ts';
import type { ServiceDeps, ServiceModule } from '../platform/http/app.ts';
import { DIRECTORY_RESOURCES } from './resources.ts';
import { seedDirectory } from './seed.ts';

export const DIRECTORY_BASE = '/spine-directory/FHIR/R4';

function directoryStore(deps: ServiceDeps): FhirStore {
  return { db: deps.db, resources: new Map(DIRECTORY_RESOURCES.map((definition) => [definition.resourceType, definition])) };
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
    });
  },
  async seed(deps) {
    const created = await seedDirectory(directoryStore(deps));
    if (created > 0) deps.log.info({ created }, 'demo organisations seeded');
  },
};
