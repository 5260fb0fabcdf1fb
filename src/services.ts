// The national services OpenSpine can run, by the name used in `--services` and OPENSPINE_SERVICES.
import type { ServiceName } from './platform/config.ts';
import type { ServiceModule } from './platform/http/app.ts';
import { auditService } from './audit/index.ts';
import { directoryService } from './directory/index.ts';
import { epsService } from './eps/index.ts';
import { identityService } from './identity/index.ts';
import { meshService } from './mesh/index.ts';
import { pdsService } from './pds/index.ts';

export const SERVICES: Record<ServiceName, ServiceModule> = {
  directory: directoryService,
  identity: identityService,
  audit: auditService,
  pds: pdsService,
  mesh: meshService,
  eps: epsService,
};
