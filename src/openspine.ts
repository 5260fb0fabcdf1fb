// Starts and stops a whole OpenSpine: the database (embedded or external), migrations, demo data,
// the HTTP server with every enabled service, and a graceful stop that finishes in-flight requests.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAuditTrail } from './audit/index.ts';
import { createAuthenticator } from './identity/index.ts';
import { joinCluster } from './platform/cluster.ts';
import { NO_AUDIT } from './platform/audit.ts';
import type { Config } from './platform/config.ts';
import { asSystem } from './platform/context.ts';
import { connectDatabase, type Database } from './platform/db/connect.ts';
import { openEmbeddedPostgres } from './platform/db/embedded.ts';
import { migrate } from './platform/db/migrate.ts';
import { mergeContainsPendingPeriodically } from './platform/fhir/contains-merge.ts';
import { loadFhirDefinitions } from './platform/fhir/validate.ts';
import { buildApp, type ServiceModule } from './platform/http/app.ts';
import { listenTls, type TlsListener } from './platform/http/tls.ts';
import { watchReadOnly } from './platform/read-only.ts';
import { SERVICES } from './services.ts';

/**
 * The database: `db` connects as the owner of the tables (migrations, seeding, the CLI), and
 * `serviceDatabase()` as the role the services run in (migrations/0005_service_role.sql): `pool`
 * for the requests, and `audit`, one connection of the audit trail's own, so that its appends, on
 * which every response waits, never queue behind the requests' queries on a busy connection.
 */
export type DatabaseHandle = { db: Database; serviceDatabase(): Promise<ServiceDatabase>; close(): Promise<void> };
export type ServiceDatabase = { pool: Database; audit: Database };

/** The audit trail appends one batch at a time (src/audit/trail.ts): one connection is all it uses. */
const AUDIT_CONNECTIONS = 1;

/** Connects to DATABASE_URL, or to the embedded PostgreSQL of the data folder. */
export async function openDatabase(config: Config, log: Logger, role: 'server' | 'tool'): Promise<DatabaseHandle> {
  const { databaseUrl } = config;
  if (databaseUrl) {
    // On an external cluster the operator's login is the service's: grant it openspine_service.
    const db = connectDatabase(databaseUrl, { max: config.databasePoolSize });
    let audit: Database | undefined;
    return {
      db,
      serviceDatabase: async () => ({ pool: db, audit: (audit ??= connectDatabase(databaseUrl, { max: AUDIT_CONNECTIONS, applicationName: 'openspine-audit' })) }),
      close: async () => {
        await audit?.end({ timeout: 5 });
        await db.end({ timeout: 5 });
      },
    };
  }
  const embedded = await openEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, settings: config.embeddedPostgresSettings, log, role });
  try {
    const admin = connectDatabase(embedded.url('postgres'), { max: 1 });
    const [exists] = await admin`select 1 from pg_database where datname = 'openspine'`;
    if (!exists) await admin`create database openspine`;
    await admin.end();
  } catch (error) {
    await embedded.stop();
    throw error;
  }
  const db = connectDatabase(embedded.url('openspine'), { max: config.databasePoolSize });
  let service: ServiceDatabase | undefined;
  return {
    db,
    async serviceDatabase() {
      if (service) return service;
      const { user, password } = embedded.serviceLogin;
      await db.unsafe(`alter role ${user} with login password '${password}'`);
      const url = withLogin(embedded.url('openspine'), user, password);
      service = {
        pool: connectDatabase(url, { max: config.databasePoolSize }),
        audit: connectDatabase(url, { max: AUDIT_CONNECTIONS, applicationName: 'openspine-audit' }),
      };
      return service;
    },
    close: async () => {
      await Promise.all([service?.pool.end({ timeout: 5 }), service?.audit.end({ timeout: 5 })]);
      await db.end({ timeout: 5 });
      await embedded.stop();
    },
  };
}

function withLogin(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

export function enabledServices(config: Config): ServiceModule[] {
  return config.services.map((name) => SERVICES[name]);
}

/** Applies migrations and seeds the demo data of each enabled service (idempotent). */
export async function prepareDatabase(config: Config, db: Database, log: Logger): Promise<void> {
  await migrate(db, log);
  await asSystem(log, async () => {
    for (const service of enabledServices(config)) await service.seed?.({ config, db, log: log.child({ module: service.name }) });
  });
}

/** `tlsUrl`: the HTTPS listener's, when OPENSPINE_MESH_TLS_PORT asked for one. */
export type RunningOpenSpine = { app: FastifyInstance; db: Database; url: string; tlsUrl: string | undefined; stop(): Promise<void> };

export async function startOpenSpine(config: Config, log: Logger): Promise<RunningOpenSpine> {
  if (config.sandbox) log.warn('SANDBOX MODE: no access token is needed and test data is loaded. Never use it for real patients.');
  if (!config.audit) log.warn('AUDIT IS OFF: nothing is recorded (sandbox only, for measuring what audit costs).');
  const database = await openDatabase(config, log, 'server');
  try {
    await prepareDatabase(config, database.db, log);
    loadFhirDefinitions();
    const { pool: db, audit: auditDb } = await database.serviceDatabase();
    const readOnly = await watchReadOnly(db, log);
    const audit = config.audit ? createAuditTrail(auditDb, log) : NO_AUDIT;
    const cluster = await joinCluster(db, log);
    const app = await buildApp({
      config,
      db,
      log,
      authenticate: await createAuthenticator(db, { processes: cluster.size }),
      cluster,
      audit,
      readOnly,
      services: enabledServices(config),
    });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    let tls: TlsListener | undefined;
    if (config.meshTls !== undefined) {
      tls = await listenTls(app, config.meshTls, config.host).catch(async (error: unknown) => {
        await app.close();
        throw error;
      });
      log.info({ url: tls.url, clientCertificates: config.meshTls.caFile === undefined ? 'not asked for' : 'required' }, 'HTTPS listener started');
    }
    const containsMerge = mergeContainsPendingPeriodically(db, log);
    return {
      app,
      db,
      url: `http://${config.host}:${port}`,
      tlsUrl: tls?.url,
      stop: async () => {
        // Both ports stop accepting together; requests in flight on either are finished.
        await Promise.all([app.close(), tls?.close()]);
        log.info('requests finished; closing the audit trail and the database');
        await audit.close();
        await containsMerge.stop();
        await cluster.leave();
        await readOnly.close();
        await database.close();
        log.info('stopped');
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
