// The Electronic Prescription Service: prescriptions from prescriber to pharmacy to payment,
// behind the EPS FHIR Prescribing and Dispensing APIs (../shared/specs/README.md section 2).
import type { ServiceModule } from '../platform/http/app.ts';
import { registerPrescriberCertificate } from './certificates.ts';
import { DEMO_PRESCRIBER_CERTIFICATE, DEMO_PRESCRIBER_USER_ID } from './demo-signing-key.ts';
import { startExpirySweeper, type ExpirySweeper } from './expiry.ts';
import { registerEpsRoutes } from './routes.ts';

export { EPS_BASE } from './routes.ts';
export { sweepExpired } from './expiry.ts';
export { DEMO_PRESCRIBER_CERTIFICATE, DEMO_PRESCRIBER_PRIVATE_KEY, DEMO_PRESCRIBER_USER_ID } from './demo-signing-key.ts';

export type EpsServiceOptions = {
  /** The expiry sweep's clock, so that tests can move time on. */
  now?: () => Date;
  /** Milliseconds between expiry sweeps; OPENSPINE_EPS_SWEEP_SECONDS by default. */
  sweepIntervalMs?: number;
  /** Issues expired per transaction. */
  sweepBatch?: number;
};

export function createEpsService(options: EpsServiceOptions = {}): ServiceModule {
  const now = options.now ?? (() => new Date());
  return {
    name: 'eps',
    register(app, { db, config, log }) {
      registerEpsRoutes(app, { db, sandbox: config.sandbox, publicBaseUrl: config.publicBaseUrl });
      // The expiry sweep runs in every process that serves EPS, with nobody to start it: SKIP LOCKED shares the work.
      let sweeper: ExpirySweeper | undefined;
      app.addHook('onReady', async () => {
        sweeper = startExpirySweeper({ db, now, log, intervalMs: options.sweepIntervalMs ?? config.epsSweepSeconds * 1000, ...(options.sweepBatch ? { batch: options.sweepBatch } : {}) });
      });
      app.addHook('onClose', async () => sweeper?.stop());
    },
    async seed({ db }) {
      // The demo GP can sign prescriptions with the published demo key (demo-signing-key.ts).
      await registerPrescriberCertificate(db, DEMO_PRESCRIBER_USER_ID, DEMO_PRESCRIBER_CERTIFICATE);
    },
  };
}

export const epsService: ServiceModule = createEpsService();
