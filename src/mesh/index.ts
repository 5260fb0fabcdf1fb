// MESH, Message Exchange for Social Care and Health: secure store-and-forward messaging between
// mailboxes, behind the NHS MESH API so that its clients work unchanged.
import type { ServiceModule } from '../platform/http/app.ts';
import { seedDemoDirectory } from './demo-directory.ts';
import { loadMeshDirectory } from './directory-file.ts';
import { registerMeshAdmin } from './admin-routes.ts';
import { createMeshDirectory } from './directory-cache.ts';
import { createMeshMetrics } from './metrics.ts';
import { registerMeshRoutes } from './routes.ts';
import { registerSandboxAdmin } from './sandbox-routes.ts';
import { startSweeper, type SweepLimits, type Sweeper } from './sweep.ts';

export { MESH_BASE } from './routes.ts';
export { meshAuthorization } from './auth.ts';
export { DirectoryFileError, loadMeshDirectory } from './directory-file.ts';
export { MESH_ADMIN_BASE } from './admin-routes.ts';
export { deactivateMailbox, listMailboxes, listWorkflows, saveMailbox, saveWorkflow } from './admin.ts';
export { sweepMesh } from './sweep.ts';

/** The spec: "The maximum amount of data allowed by MESH in a single request message is 100MB". */
export const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

export type MeshServiceOptions = {
  /** The clock is a dependency, so that tests (and the expiry sweep's) can move time on. */
  now?: () => Date;
  /** Milliseconds between sweeps; OPENSPINE_MESH_SWEEP_SECONDS by default. */
  sweepIntervalMs?: number;
  sweepLimits?: Partial<SweepLimits>;
};

export function createMeshService(options: MeshServiceOptions = {}): ServiceModule {
  const now = options.now ?? (() => new Date());
  return {
    name: 'mesh',
    register(app, { db, config, log, metrics: registry }) {
      if (config.meshSharedKeyIsDefault && !config.sandbox) {
        log.warn('MESH uses the NHS sandbox shared key TestKey: set OPENSPINE_MESH_SHARED_KEY for anything but development');
      }
      const metrics = createMeshMetrics(db, registry);
      // The mailboxes and workflows as this process remembers them, forgotten at every change.
      const directory = createMeshDirectory(db);
      let stopListening: (() => Promise<void>) | undefined;
      app.addHook('onReady', async () => {
        stopListening = await directory.listen();
      });
      app.addHook('onClose', async () => stopListening?.());
      registerMeshRoutes(app, { db, directory, now, maxRequestBytes: MAX_REQUEST_BYTES, sharedKey: config.meshSharedKey, sandbox: config.sandbox, counters: metrics });
      registerMeshAdmin(app, db, directory);
      if (config.sandbox) registerSandboxAdmin(app, { db, now, counters: metrics });

      // The sweep runs in every process that serves MESH, with nobody to start it: SKIP LOCKED shares the work.
      let sweeper: Sweeper | undefined;
      app.addHook('onReady', async () => {
        sweeper = startSweeper({
          db, now, log,
          intervalMs: options.sweepIntervalMs ?? config.meshSweepSeconds * 1000,
          ...(options.sweepLimits ? { limits: options.sweepLimits } : {}),
          onSwept: (result) => {
            for (const [workflowId, count] of result.expired) metrics.expired(workflowId, count);
          },
        });
      });
      app.addHook('onClose', async () => sweeper?.stop());
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
