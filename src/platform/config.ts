// OpenSpine's configuration: read once from the environment (and CLI flags), validated, passed down.
// The only module that reads process.env (../shared/style.md, habit 5).
import { isIP } from 'node:net';
import path from 'node:path';

/** In start-up order: the directory first, as the identities' organisations live there. */
export const ALL_SERVICES = ['directory', 'identity', 'audit', 'pds', 'mesh', 'eps'] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

export type Config = {
  /** HTTP port. Kept away from the ports of PostgreSQL, Redis, RabbitMQ, NATS and MariaDB. */
  port: number;
  host: string;
  /** Where the embedded PostgreSQL and OpenSpine's own secrets live. */
  dataDir: string;
  /** An external PostgreSQL server or cluster; when absent OpenSpine runs its embedded one. */
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  /** Extra settings of the embedded PostgreSQL (`name=value`), e.g. to load pg_stat_statements. */
  embeddedPostgresSettings: string[];
  databasePoolSize: number;
  /** Behave as the NHS public sandboxes do: no token needed, sandbox data, admin endpoints. */
  sandbox: boolean;
  /** Whether requests are audited; only a sandbox may go without, to measure what audit costs. */
  audit: boolean;
  services: ServiceName[];
  logLevel: string;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** The public base URL clients use, for links in bundles and the start-up banner. */
  publicBaseUrl: string;
  /**
   * The addresses (IPs or CIDR ranges) of the proxies and balancers in front of OpenSpine whose
   * X-Forwarded-For is believed, so that a request's address is its client's (the sign-in pages
   * count password attempts by it). None by default: the address is the connection's.
   */
  trustedProxies: string[];
  /**
   * MESH's environment-wide shared secret, the HMAC key of every NHSMESH authorization header.
   * Unset, it is the NHS MESH sandbox's published key `TestKey` (MESH_SANDBOX_SHARED_KEY), so that
   * sandbox clients work as they are; that is for sandbox mode and development only, and the MESH
   * service warns at start when a non-sandbox run uses it. The key alone opens nothing: each
   * mailbox's own password is in the HMAC too.
   */
  meshSharedKey: string;
  /** Whether meshSharedKey is the sandbox's published default rather than one that was set. */
  meshSharedKeyIsDefault: boolean;
  /** JSON-lines files of MESH mailboxes and workflows (the NHS MESH sandbox's format), loaded at start. */
  meshMailboxesFile: string | undefined;
  meshWorkflowsFile: string | undefined;
  /** Seconds between two runs of MESH's sweep (inbox expiry with its REPORTs, deletion at 30 days, abandoned uploads). */
  meshSweepSeconds: number;
  /** Seconds between EPS sweeps (expiry, forgetting old X-Request-IDs). */
  epsSweepSeconds: number;
  /** An HTTPS listener beside the plain port, as MESH clients expect (mutual TLS when caFile is set); absent unless OPENSPINE_MESH_TLS_PORT is set. */
  meshTls: TlsListenerConfig | undefined;
};

/** PEM files: the server's certificate (with its chain) and key, and the CA whose client certificates are then required. */
export type TlsListenerConfig = { port: number; certFile: string; keyFile: string; caFile: string | undefined };

export const DEFAULTS = {
  port: 7300,
  host: '127.0.0.1',
  dataDir: 'data',
  embeddedPostgresPort: 7332,
  databasePoolSize: 8,
  logLevel: 'info',
  bodyLimit: 10 * 1024 * 1024,
  meshSweepSeconds: 60,
  epsSweepSeconds: 60,
} as const;

/** The NHS MESH sandbox's published shared key (its README's SHARED_KEY=TestKey). */
export const MESH_SANDBOX_SHARED_KEY = 'TestKey';

export class ConfigError extends Error {}

/** Every setting a person can give, by flag or by environment variable; flags win. */
export type ConfigInput = Partial<Record<
  | 'port' | 'host' | 'dataDir' | 'databaseUrl' | 'embeddedPostgresPort' | 'embeddedPostgresSettings' | 'databasePoolSize' | 'sandbox' | 'audit' | 'services' | 'logLevel' | 'bodyLimit' | 'publicBaseUrl' | 'trustedProxies'
  | 'meshSharedKey' | 'meshMailboxesFile' | 'meshWorkflowsFile' | 'meshSweepSeconds' | 'epsSweepSeconds'
  | 'meshTlsPort' | 'meshTlsCert' | 'meshTlsKey' | 'meshTlsCa',
  string | boolean | undefined
>>;

const ENVIRONMENT_NAMES: Record<keyof ConfigInput, string> = {
  port: 'PORT',
  host: 'OPENSPINE_HOST',
  dataDir: 'OPENSPINE_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  embeddedPostgresPort: 'OPENSPINE_EMBEDDED_POSTGRES_PORT',
  embeddedPostgresSettings: 'OPENSPINE_EMBEDDED_POSTGRES_SETTINGS',
  databasePoolSize: 'OPENSPINE_DATABASE_POOL_SIZE',
  sandbox: 'OPENSPINE_SANDBOX',
  audit: 'OPENSPINE_AUDIT',
  services: 'OPENSPINE_SERVICES',
  logLevel: 'OPENSPINE_LOG_LEVEL',
  bodyLimit: 'OPENSPINE_BODY_LIMIT',
  publicBaseUrl: 'OPENSPINE_PUBLIC_BASE_URL',
  trustedProxies: 'OPENSPINE_TRUSTED_PROXIES',
  meshSharedKey: 'OPENSPINE_MESH_SHARED_KEY',
  meshMailboxesFile: 'OPENSPINE_MESH_MAILBOXES',
  meshWorkflowsFile: 'OPENSPINE_MESH_WORKFLOWS',
  meshSweepSeconds: 'OPENSPINE_MESH_SWEEP_SECONDS',
  epsSweepSeconds: 'OPENSPINE_EPS_SWEEP_SECONDS',
  meshTlsPort: 'OPENSPINE_MESH_TLS_PORT',
  meshTlsCert: 'OPENSPINE_MESH_TLS_CERT',
  meshTlsKey: 'OPENSPINE_MESH_TLS_KEY',
  meshTlsCa: 'OPENSPINE_MESH_TLS_CA',
};

/** The environment variable names, for `--help` texts and the README's table. */
export function environmentName(setting: keyof ConfigInput): string {
  return ENVIRONMENT_NAMES[setting];
}

export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const pick = (key: keyof ConfigInput): string | boolean | undefined => flags[key] ?? env[ENVIRONMENT_NAMES[key]];
  const port = integer(pick('port'), DEFAULTS.port, 'PORT', 0, 65535);
  const host = text(pick('host')) ?? DEFAULTS.host;
  const sandbox = boolean(pick('sandbox'), 'OPENSPINE_SANDBOX');
  const audit = pick('audit') === undefined ? true : boolean(pick('audit'), 'OPENSPINE_AUDIT');
  if (!audit && !sandbox) throw new ConfigError('OPENSPINE_AUDIT=off is allowed in sandbox mode only: every real access is audited');
  const meshSharedKey = text(pick('meshSharedKey'));
  const meshMailboxesFile = text(pick('meshMailboxesFile'));
  const meshWorkflowsFile = text(pick('meshWorkflowsFile'));
  return {
    port,
    host,
    dataDir: path.resolve(text(pick('dataDir')) ?? DEFAULTS.dataDir),
    databaseUrl: text(pick('databaseUrl')),
    embeddedPostgresPort: integer(pick('embeddedPostgresPort'), DEFAULTS.embeddedPostgresPort, 'OPENSPINE_EMBEDDED_POSTGRES_PORT', 1, 65535),
    embeddedPostgresSettings: postgresSettings(text(pick('embeddedPostgresSettings'))),
    databasePoolSize: integer(pick('databasePoolSize'), DEFAULTS.databasePoolSize, 'OPENSPINE_DATABASE_POOL_SIZE', 1, 1000),
    sandbox,
    audit,
    services: services(text(pick('services'))),
    logLevel: text(pick('logLevel')) ?? DEFAULTS.logLevel,
    bodyLimit: integer(pick('bodyLimit'), DEFAULTS.bodyLimit, 'OPENSPINE_BODY_LIMIT', 1024, 1024 ** 3),
    publicBaseUrl: (text(pick('publicBaseUrl')) ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`).replace(/\/$/, ''),
    trustedProxies: trustedProxies(text(pick('trustedProxies'))),
    meshSharedKey: meshSharedKey ?? MESH_SANDBOX_SHARED_KEY,
    meshSharedKeyIsDefault: meshSharedKey === undefined,
    meshMailboxesFile: meshMailboxesFile && path.resolve(meshMailboxesFile),
    meshWorkflowsFile: meshWorkflowsFile && path.resolve(meshWorkflowsFile),
    meshSweepSeconds: integer(pick('meshSweepSeconds'), DEFAULTS.meshSweepSeconds, 'OPENSPINE_MESH_SWEEP_SECONDS', 1, 86_400),
    epsSweepSeconds: integer(pick('epsSweepSeconds'), DEFAULTS.epsSweepSeconds, 'OPENSPINE_EPS_SWEEP_SECONDS', 1, 86_400),
    meshTls: tlsListener(pick),
  };
}

function tlsListener(pick: (key: keyof ConfigInput) => string | boolean | undefined): TlsListenerConfig | undefined {
  const file = (key: 'meshTlsCert' | 'meshTlsKey' | 'meshTlsCa') => {
    const given = text(pick(key));
    return given === undefined ? undefined : path.resolve(given);
  };
  const [certFile, keyFile, caFile] = [file('meshTlsCert'), file('meshTlsKey'), file('meshTlsCa')];
  if (text(pick('meshTlsPort')) === undefined) {
    if (certFile ?? keyFile ?? caFile) throw new ConfigError('OPENSPINE_MESH_TLS_CERT, _KEY and _CA take effect with OPENSPINE_MESH_TLS_PORT: set it too');
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) throw new ConfigError('OPENSPINE_MESH_TLS_PORT needs OPENSPINE_MESH_TLS_CERT and OPENSPINE_MESH_TLS_KEY (PEM files)');
  return { port: integer(pick('meshTlsPort'), 0, 'OPENSPINE_MESH_TLS_PORT', 0, 65535), certFile, keyFile, caFile };
}

function text(value: string | boolean | undefined): string | undefined {
  if (value === undefined || value === false || value === '') return undefined;
  return String(value);
}

function integer(value: string | boolean | undefined, fallback: number, name: string, min: number, max: number): number {
  const given = text(value);
  if (given === undefined) return fallback;
  const parsed = Number(given);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not '${given}'`);
  }
  return parsed;
}

function boolean(value: string | boolean | undefined, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === undefined || value === '') return false;
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, not '${value}'`);
}

/** What no extra setting may change: the durability that every acknowledged write relies on. */
const PROTECTED_POSTGRES_SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes'];

/** `name=value;name=value` (values may hold commas, as shared_preload_libraries does). */
function postgresSettings(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(';').map((setting) => setting.trim()).filter(Boolean).map((setting) => {
    const name = /^([a-z_][a-z0-9_.]*)=./i.exec(setting)?.[1];
    if (!name) throw new ConfigError(`OPENSPINE_EMBEDDED_POSTGRES_SETTINGS: '${setting}' is not name=value`);
    if (PROTECTED_POSTGRES_SETTINGS.includes(name.toLowerCase())) throw new ConfigError(`OPENSPINE_EMBEDDED_POSTGRES_SETTINGS: ${name} stays on, so that every acknowledged write is durable`);
    return setting;
  });
}

/** Comma-separated IPs or CIDR ranges (v4 or v6), as Fastify's trustProxy takes them. */
function trustedProxies(value: string | undefined): string[] {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const maxBits = isIP(address) === 4 ? 32 : isIP(address) === 6 ? 128 : 0;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (maxBits === 0 || !validBits || extra !== undefined) throw new ConfigError(`OPENSPINE_TRUSTED_PROXIES: '${entry}' is not an IP address or CIDR range`);
  }
  return entries;
}

function services(value: string | undefined): ServiceName[] {
  if (value === undefined || value === 'all') return [...ALL_SERVICES];
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!(ALL_SERVICES as readonly string[]).includes(name)) {
      throw new ConfigError(`Unknown service '${name}'; known services: ${ALL_SERVICES.join(', ')}`);
    }
  }
  return names as ServiceName[];
}
