// Prometheus metrics for operators: requests and latency per route, errors by NHS code, the
// database pool, and Node's own process metrics. One registry per app, so tests stay independent.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/connect.ts';

export type Metrics = { registry: Registry; errors: Counter<'code' | 'status'> };

export function registerMetrics(app: FastifyInstance, db: Database, poolSize: number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'openspine_' });
  const duration = new Histogram({
    name: 'openspine_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'openspine_errors_total',
    help: 'Error responses, by NHS error code and HTTP status',
    labelNames: ['code', 'status'] as const,
    registers: [registry],
  });
  new Gauge({ name: 'openspine_database_pool_max', help: 'Largest number of database connections this process opens', registers: [registry] }).set(poolSize);
  new Gauge({
    name: 'openspine_database_connections',
    help: 'Database connections of OpenSpine processes on this database, by state (from pg_stat_activity)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db<{ state: string | null; count: number }[]>`
        select state, count(*)::int as count from pg_stat_activity
        where datname = current_database() and application_name = 'openspine' group by state`;
      for (const row of rows) this.set({ state: row.state ?? 'unknown' }, row.count);
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { config: { access: { public: true } } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return { registry, errors };
}
