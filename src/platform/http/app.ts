// The Fastify app factory: NHS headers, request context, the access decision, read-only mode,
// metrics, health and one error handler, then every enabled service. Tests build it and `inject`.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ALONE, type Cluster } from '../cluster.ts';
import type { Config } from '../config.ts';
import { noteActor, runWithContext } from '../context.ts';
import type { Database } from '../db/connect.ts';
import { Errors } from '../errors.ts';
import type { AuditSink } from '../audit.ts';
import type { ReadOnlySwitch } from '../read-only.ts';
import { registerAuditHook } from './audit-hook.ts';
import { decideAccess, type AccessRule, type Authenticator } from './access.ts';
import { registerErrorHandling, replyToFrameworkError } from './errors.ts';
import { registerHealth } from './health.ts';
import { registerMetrics } from './metrics.ts';
import { registerNhsHeaders, requestIdOf } from './nhs-headers.ts';

export type ServiceDeps = { config: Config; db: Database; log: Logger };

/** A national service as the platform sees it: routes to register, and demo data to seed. */
export type ServiceModule = {
  name: string;
  /** `cluster`: the processes sharing the database, among which limits meant for the whole service are shared. */
  register(app: FastifyInstance, deps: ServiceDeps & { metrics: Registry; cluster: Cluster }): void | Promise<void>;
  seed?(deps: ServiceDeps): Promise<void>;
};

export type RegisteredRoute = { method: string; url: string; access: AccessRule };
const ROUTE_TABLES = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route of an app with its access rule, for the tests that check each one is enforced. */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return ROUTE_TABLES.get(app) ?? [];
}

export type AppDeps = ServiceDeps & {
  authenticate: Authenticator;
  audit: AuditSink;
  readOnly: ReadOnlySwitch;
  services: ServiceModule[];
  /** The processes sharing the database, shown in /_status (one, unless given). */
  cluster?: Cluster;
};

/** Seconds a client is told to wait in read-only mode before trying a write again. */
const READ_ONLY_RETRY_AFTER = 60;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BODILESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * JSON in its three media types, parsed safely (prototype poisoning refused), and HTML forms. An
 * empty JSON body is refused only where a body is expected: clients send Content-Type on a DELETE too.
 */
function registerBodyParsers(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // Only what a service declares is parsed: text/plain and the rest get 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/fhir+json', 'application/json-patch+json'], { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || body === undefined) {
      if (BODILESS_METHODS.has(request.method)) return done(null, undefined);
      return done(Errors.malformedBody('The request body is empty'), undefined);
    }
    void parseJson(request, body.toString(), done);
  });
  // OAuth token requests and sign-in forms. A repeated field is kept as the list of its values,
  // which the routes refuse (RFC 6749 section 3.1: parameters "MUST NOT be included more than once").
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const fields = new Map<string, string | string[]>();
    for (const [name, value] of new URLSearchParams(body.toString())) {
      const given = fields.get(name);
      fields.set(name, given === undefined ? value : [given, value].flat());
    }
    done(null, Object.fromEntries(fields));
  });
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db, log } = deps;
  const loggerInstance: FastifyBaseLogger = log;
  const app: FastifyInstance = Fastify({
    loggerInstance,
    // One log line per request would cost more than the request at thousands a second; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    bodyLimit: config.bodyLimit,
    // request.ip is the client's only behind proxies named as trusted (config.trustedProxies).
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    forceCloseConnections: 'idle',
    // While closing, requests on open connections are still served; only new connections are refused.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: replyToFrameworkError,
  });
  // No route without an access declaration: registering one fails at start-up, not in production.
  const routes: RegisteredRoute[] = [];
  ROUTE_TABLES.set(app, routes);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined) throw new Error(`Route ${String(route.method)} ${route.url} declares no access rule (config.access)`);
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, access });
  });
  registerBodyParsers(app);
  // Once closing, every answer asks its client to leave the connection, and connections that fall
  // idle are closed as they do, so keep-alive clients move off and the close can finish; requests
  // already on their way are still served.
  let closing: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = setInterval(() => app.server.closeIdleConnections(), 50);
  });
  app.addHook('onClose', async () => clearInterval(closing));
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onRequest', (request, _reply, done) => {
    const correlationId = request.headers['x-correlation-id'];
    const context = {
      requestId: request.id,
      correlationId: typeof correlationId === 'string' ? correlationId : undefined,
      actor: undefined,
      log: request.log,
      subjects: { patientNhsNumbers: new Set<string>(), resourceIds: new Set<string>() },
    };
    runWithContext(context, done);
  });
  registerNhsHeaders(app);
  app.addHook('onRequest', async (request) => {
    noteActor(await decideAccess(request, { sandbox: config.sandbox, authenticate: deps.authenticate }));
    const write = request.routeOptions.config.write ?? WRITE_METHODS.has(request.method);
    if (write && deps.readOnly.isOn()) throw Errors.readOnly(READ_ONLY_RETRY_AFTER);
  });

  registerAuditHook(app, deps.audit);
  const metrics = registerMetrics(app, db, config.databasePoolSize);
  deps.audit.registerMetrics?.(metrics.registry);
  registerErrorHandling(app, metrics);
  const cluster = deps.cluster ?? ALONE;
  registerHealth(app, { config, db, readOnly: deps.readOnly, cluster, services: deps.services.map((service) => service.name) });
  for (const service of deps.services) await service.register(app, { config, db, log: log.child({ module: service.name }), metrics: metrics.registry, cluster });
  return app;
}
