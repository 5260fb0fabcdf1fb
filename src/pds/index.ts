// The Personal Demographics Service: the national index of patients, behind the PDS FHIR API.
import type { ServiceModule } from '../platform/http/app.ts';
import { seedDemoPatients } from './demo-patients.ts';
import { registerPdsRoutes } from './routes.ts';
import { seedSandboxPatients } from './sandbox-patients.ts';

export { PDS_BASE } from './routes.ts';

export const pdsService: ServiceModule = {
  name: 'pds',
  register(app, { db, config }) {
    registerPdsRoutes(app, { db, publicBaseUrl: config.publicBaseUrl, sandbox: config.sandbox });
  },
  async seed({ db, log, config }) {
    const created = await seedDemoPatients(db);
    if (created > 0) log.info({ created }, 'demo patients seeded');
    // After the demo patients, so the sandbox's versions of the same NHS numbers win.
    if (config.sandbox) log.info({ patients: await seedSandboxPatients(db) }, 'sandbox patients put back as published');
  },
};
