// `/_ping` (the process answers) and `/_status` (and its database does), as the NHS APIs offer them.
import type { FastifyInstance } from 'fastify';
import type { Cluster } from '../cluster.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connect.ts';
import type { ReadOnlySwitch } from '../read-only.ts';

export const SANDBOX_WARNING = 'SANDBOX MODE: no access token is needed and test data is loaded. Never use it for real patients.';

export function registerHealth(app: FastifyInstance, deps: { config: Config; db: Database; readOnly: ReadOnlySwitch; cluster: Cluster; services: string[] }): void {
  const publicRoute = { config: { access: { public: true as const } } };
  app.get('/_ping', publicRoute, async () => ({ status: 'pass', version: '0.1.0' }));
  app.get('/_status', publicRoute, async (_request, reply) => {
    const started = performance.now();
    let database: { status: 'pass' | 'fail'; responseTimeMs?: number; error?: string };
    try {
      await deps.db`select 1`;
      database = { status: 'pass', responseTimeMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      database = { status: 'fail', error: (error as Error).message };
    }
    reply.status(database.status === 'pass' ? 200 : 503);
    return {
      status: database.status,
      version: '0.1.0',
      services: deps.services,
      readOnly: deps.readOnly.isOn(),
      // OpenSpine processes on this database, by their heartbeats (src/platform/cluster.ts).
      processes: deps.cluster.size(),
      sandbox: deps.config.sandbox,
      ...(deps.config.sandbox ? { warning: SANDBOX_WARNING } : {}),
      checks: { database },
    };
  });
}
