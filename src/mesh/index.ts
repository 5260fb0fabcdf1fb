// MESH, Message Exchange for Social Care and Health: secure store-and-forward messaging between
// mailboxes, behind the NHS MESH API so that its clients work unchanged.
import type { ServiceModule } from '../platform/http/app.ts';
import { seedDemoDirectory } from './demo-directory.ts';
import { loadMeshDirectory } from './directory-file.ts';
import { registerMeshRoutes } from './routes.ts';

export { MESH_BASE } from './routes.ts';
export { meshAuthorization } from './auth.ts';
export { loadMeshDirectory } from './directory-file.ts';

/** The spec: "The maximum amount of data allowed by MESH in a single request message is 100MB". */
export const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

/** The clock is a dependency, so that tests (and the expiry sweep's) can move time on. */
export function createMeshService(options: { now?: () => Date } = {}): ServiceModule {
  const now = options.now ?? (() => new Date());
  return {
    name: 'mesh',
    register(app, { db, config, log }) {
      if (config.meshSharedKeyIsDefault && !config.sandbox) {
        log.warn('MESH uses the NHS sandbox shared key TestKey: set OPENSPINE_MESH_SHARED_KEY for anything but development');
      }
      registerMeshRoutes(app, { db, now, maxRequestBytes: MAX_REQUEST_BYTES, sharedKey: config.meshSharedKey });
    },
    async seed({ db, config, log }) {
      // The sandbox's mailboxes have the password `password`: a deployment that loads its own has none of them.
      if (config.sandbox || config.meshMailboxesFile === undefined) {
        const added = await seedDemoDirectory(db);
        if (added > 0) log.info({ added }, 'demo MESH mailboxes seeded');
      }
      if (config.meshMailboxesFile !== undefined || config.meshWorkflowsFile !== undefined) {
        const loaded = await loadMeshDirectory(db, { mailboxesFile: config.meshMailboxesFile, workflowsFile: config.meshWorkflowsFile });
        log.info(loaded, 'MESH mailboxes and workflows loaded');
      }
    },
  };
}

export const meshService: ServiceModule = createMeshService();
