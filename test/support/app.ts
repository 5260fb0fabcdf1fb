// An OpenSpine app built in process against a test database, with tokens for its callers.
import type { FastifyInstance } from 'fastify';
import { after } from 'node:test';
import { pino } from 'pino';
import { createAuditTrail } from '../../src/audit/index.ts';
import { createAuthenticator, issueAccessToken } from '../../src/identity/index.ts';
import type { AuditSink } from '../../src/platform/audit.ts';
import { ADMIN_SCOPE } from '../../src/platform/http/access.ts';
import { enabledServices, prepareDatabase } from '../../src/openspine.ts';
import { loadConfig, type Config } from '../../src/platform/config.ts';
import type { Actor } from '../../src/platform/context.ts';
import type { Database } from '../../src/platform/db/connect.ts';
import { loadFhirDefinitions } from '../../src/platform/fhir/validate.ts';
import { buildApp } from '../../src/platform/http/app.ts';
import { watchReadOnly } from '../../src/platform/read-only.ts';
import { createTestDatabase } from './database.ts';

export type TestApp = {
  app: FastifyInstance;
  db: Database;
  /** The connection URL of this test's database, for commands run in another process. */
  databaseUrl: string;
  config: Config;
  /** An access token for the actor (the system itself by default), with the scopes given. */
  token(options?: { actor?: Actor; scopes?: string[] }): Promise<string>;
  adminHeaders(): Promise<Record<string, string>>;
};

/** `audit`: a sink in place of the audit trail, for a test of what the platform does with records. */
export async function buildTestApp(settings: { sandbox?: boolean; audit?: AuditSink } = {}): Promise<TestApp> {
  const { db, url: databaseUrl } = await createTestDatabase();
  const config = loadConfig({ sandbox: settings.sandbox ?? false, publicBaseUrl: 'http://openspine.test' }, {});
  const log = pino({ level: 'silent' });
  await prepareDatabase(config, db, log);
  loadFhirDefinitions();
  const readOnly = await watchReadOnly(db, log);
  const audit = createAuditTrail(db, log);
  const app = await buildApp({ config, db, log, authenticate: await createAuthenticator(db), audit: settings.audit ?? audit, readOnly, services: enabledServices(config) });
  after(async () => {
    await app.close();
    await audit.close();
    await readOnly.close();
  });
  const token = async (options: { actor?: Actor; scopes?: string[] } = {}) =>
    (await issueAccessToken(db, { actor: options.actor ?? { mode: 'system', activityCodes: [] }, scopes: options.scopes ?? [] })).accessToken;
  return {
    app,
    db,
    databaseUrl,
    config,
    token,
    adminHeaders: async () => ({ authorization: `Bearer ${await token({ scopes: [ADMIN_SCOPE] })}`, 'content-type': 'application/fhir+json' }),
  };
}
