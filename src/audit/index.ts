// The audit service as other modules see it: the trail every request is recorded in (the
// platform's audit sink), its verification, and the auditors' AuditEvent search.
import type { ServiceModule } from '../platform/http/app.ts';
import { publishAnchors } from './anchors.ts';
import { registerAuditRoutes } from './routes.ts';

export { AUDIT_BASE } from './routes.ts';
export { AUDIT_TRAIL_DEFAULTS, createAuditTrail, type AuditTrail, type AuditTrailOptions } from './trail.ts';
export { verifyAuditTrail } from './verify.ts';
export type { AuditProblem, AuditProblemKind, AuditVerification } from './problems.ts';
export { anchorsInLog, formatAnchor, parseAnchor } from './anchors.ts';
export { readChainHead, readRecords } from './store.ts';

export const auditService: ServiceModule = {
  name: 'audit',
  register(app, deps) {
    registerAuditRoutes(app, deps);
    if (!deps.config.audit) return;
    // The head goes to the log every minute it moved, out of reach of whoever can rewrite the database.
    const anchors = publishAnchors(deps.db, deps.log);
    app.addHook('onClose', async () => anchors.stop());
  },
};
