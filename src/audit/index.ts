// The audit service as other modules see it: the trail every request is recorded in (the
// platform's audit sink), its verification, and the auditors' AuditEvent search.
import type { ServiceModule } from '../platform/http/app.ts';
import { registerAuditRoutes } from './routes.ts';

export { AUDIT_BASE } from './routes.ts';
export { AUDIT_TRAIL_DEFAULTS, createAuditTrail, type AuditTrail, type AuditTrailOptions } from './trail.ts';
export { verifyAuditTrail, type AuditProblem, type AuditProblemKind, type AuditVerification } from './verify.ts';

export const auditService: ServiceModule = {
  name: 'audit',
  register(app, deps) {
    registerAuditRoutes(app, deps);
  },
};
