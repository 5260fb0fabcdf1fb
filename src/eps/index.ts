// The Electronic Prescription Service: prescriptions from prescriber to pharmacy to payment,
// behind the EPS FHIR Prescribing and Dispensing APIs (../shared/specs/README.md section 2).
import type { ServiceModule } from '../platform/http/app.ts';
import { registerPrescriberCertificate } from './certificates.ts';
import { DEMO_PRESCRIBER_CERTIFICATE, DEMO_PRESCRIBER_USER_ID } from './demo-signing-key.ts';
import { registerEpsRoutes } from './routes.ts';

export { EPS_BASE } from './routes.ts';
export { DEMO_PRESCRIBER_CERTIFICATE, DEMO_PRESCRIBER_PRIVATE_KEY, DEMO_PRESCRIBER_USER_ID } from './demo-signing-key.ts';

export const epsService: ServiceModule = {
  name: 'eps',
  register(app, { db, config }) {
    registerEpsRoutes(app, { db, sandbox: config.sandbox });
  },
  async seed({ db }) {
    // The demo GP can sign prescriptions with the published demo key (demo-signing-key.ts).
    await registerPrescriberCertificate(db, DEMO_PRESCRIBER_USER_ID, DEMO_PRESCRIBER_CERTIFICATE);
  },
};
