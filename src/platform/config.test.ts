import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

test('defaults: port 7300, embedded PostgreSQL on 7332, every service, not sandbox', () => {
  const config = loadConfig({}, {});
  assert.equal(config.port, 7300);
  assert.equal(config.embeddedPostgresPort, 7332);
  assert.equal(config.sandbox, false);
  assert.equal(config.databaseUrl, undefined);
  assert.deepEqual(config.services, ['directory', 'identity', 'audit', 'pds', 'mesh', 'eps']);
  assert.equal(config.publicBaseUrl, 'http://127.0.0.1:7300');
});

test('the environment sets what flags do not; flags win', () => {
  const env = { PORT: '8000', OPENSPINE_SANDBOX: '1', DATABASE_URL: 'postgres://db/openspine', OPENSPINE_DATA_DIR: '/srv/openspine' };
  const config = loadConfig({ port: '9000' }, env);
  assert.equal(config.port, 9000);
  assert.equal(config.sandbox, true);
  assert.equal(config.databaseUrl, 'postgres://db/openspine');
  assert.equal(config.dataDir, '/srv/openspine');
});

test('bad settings are refused with the setting named', () => {
  assert.throws(() => loadConfig({}, { PORT: 'eighty' }), (error: unknown) => error instanceof ConfigError && /PORT/.test(error.message));
  assert.throws(() => loadConfig({}, { OPENSPINE_SANDBOX: 'maybe' }), /OPENSPINE_SANDBOX/);
  assert.throws(() => loadConfig({ services: 'directory,nonsense' }, {}), /Unknown service 'nonsense'/);
  assert.throws(() => loadConfig({}, { OPENSPINE_AUDIT: 'off' }), /sandbox mode only/);
  assert.equal(loadConfig({}, { OPENSPINE_AUDIT: 'off', OPENSPINE_SANDBOX: 'on' }).audit, false);
});

test('extra embedded PostgreSQL settings are name=value pairs; none may turn durability off', () => {
  const settings = (value: string) => loadConfig({}, { OPENSPINE_EMBEDDED_POSTGRES_SETTINGS: value }).embeddedPostgresSettings;
  assert.deepEqual(settings('shared_preload_libraries=pg_stat_statements,auto_explain; work_mem=64MB'), ['shared_preload_libraries=pg_stat_statements,auto_explain', 'work_mem=64MB']);
  assert.deepEqual(loadConfig({}, {}).embeddedPostgresSettings, []);
  for (const refused of ['fsync=off', 'synchronous_commit=off', 'Full_Page_Writes=off', 'work_mem', '=1']) {
    assert.throws(() => settings(refused), (error: unknown) => error instanceof ConfigError && /OPENSPINE_EMBEDDED_POSTGRES_SETTINGS/.test(error.message), refused);
  }
});

test('the EPS sweep runs every OPENSPINE_EPS_SWEEP_SECONDS, 60 by default, 1 to 86,400', () => {
  assert.equal(loadConfig({}, {}).epsSweepSeconds, 60);
  assert.equal(loadConfig({}, { OPENSPINE_EPS_SWEEP_SECONDS: '5' }).epsSweepSeconds, 5);
  for (const refused of ['0', 'often', '86401']) {
    assert.throws(() => loadConfig({}, { OPENSPINE_EPS_SWEEP_SECONDS: refused }), (error: unknown) => error instanceof ConfigError && /OPENSPINE_EPS_SWEEP_SECONDS/.test(error.message), refused);
  }
});

test('trusted proxies are IPs or CIDR ranges, none by default', () => {
  assert.deepEqual(loadConfig({}, {}).trustedProxies, []);
  assert.deepEqual(loadConfig({}, { OPENSPINE_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.7,2001:db8::/32' }).trustedProxies, ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
  for (const refused of ['loopback', '10.0.0.0/33', '10.0.0.1/8/8', '300.1.1.1', '10.0.0.0/x']) {
    assert.throws(() => loadConfig({}, { OPENSPINE_TRUSTED_PROXIES: refused }), /OPENSPINE_TRUSTED_PROXIES/, refused);
  }
});
