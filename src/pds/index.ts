// The Personal Demographics Service: the national index of patients, behind the PDS FHIR API.
import type { Patient } from '@medplum/fhirtypes';
import type { Queryable } from '../platform/db/connect.ts';
import type { ServiceModule } from '../platform/http/app.ts';
import { seedDemoPatients } from './demo-patients.ts';
import { registerPdsRoutes } from './routes.ts';
import { seedSandboxPatients } from './sandbox-patients.ts';
import { readPatient } from './store.ts';

export { PDS_BASE } from './routes.ts';

const NOMINATED_PHARMACY = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy';

/** The ODS code of the pharmacy a patient has nominated on their PDS record, if any (for EPS). */
export async function nominatedPharmacyOf(db: Queryable, nhsNumber: string): Promise<string | undefined> {
  const row = await readPatient(db, nhsNumber);
  if (!row || row.invalidated) return undefined;
  const record = JSON.parse(row.record) as Patient;
  return record.extension?.find((extension) => extension.url === NOMINATED_PHARMACY)?.valueReference?.identifier?.value;
}

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
