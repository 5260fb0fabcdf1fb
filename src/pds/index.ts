// The Personal Demographics Service: the national index of patients, behind the PDS FHIR API.
import type { ServiceModule } from '../platform/http/app.ts';
import { seedDemoPatients } from './demo-patients.ts';
import { registerPdsRoutes } from './routes.ts';

export { PDS_BASE } from './routes.ts';

export const pdsService: ServiceModule = {
  name: 'pds',
  register(app, { db, config }) {
    registerPdsRoutes(app, { db, publicBaseUrl: config.publicBaseUrl });
  },
  async seed({ db, log }) {
    const created = await seedDemoPatients(db);
    if (created > 0) log.info({ created }, 'demo patients seeded');
  },
};
