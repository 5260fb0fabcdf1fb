// The `openspine` command: start, migrate, seed, read-only and token, each with --help.
import { Command, Option } from 'commander';
import { ADMIN_SCOPE, issueAccessToken } from '../identity/index.ts';
import { ConfigError, DEFAULTS, environmentName, loadConfig, type Config, type ConfigInput } from '../platform/config.ts';
import { SYSTEM_ACTOR } from '../platform/context.ts';
import { migrate } from '../platform/db/migrate.ts';
import { createLogger } from '../platform/log.ts';
import { readReadOnly, setReadOnly } from '../platform/read-only.ts';
import { openDatabase, prepareDatabase, startOpenSpine } from '../openspine.ts';
import { DIRECTORY_BASE } from '../directory/index.ts';

const program = new Command('openspine')
  .description('OpenSpine: the NHS Spine national services, open source')
  .showHelpAfterError();

/** The options every command shares: where the database is. */
function databaseOptions(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <path>', 'folder of the embedded PostgreSQL').env(environmentName('dataDir')).default(DEFAULTS.dataDir))
    .addOption(new Option('--database-url <url>', 'use this PostgreSQL instead of the embedded one').env(environmentName('databaseUrl')))
    .addOption(new Option('--embedded-postgres-port <port>', 'port of the embedded PostgreSQL').env(environmentName('embeddedPostgresPort')).default(String(DEFAULTS.embeddedPostgresPort)))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug or trace').env(environmentName('logLevel')).default(DEFAULTS.logLevel));
}

function configFrom(options: ConfigInput): Config {
  try {
    return loadConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) program.error(`openspine: ${error.message}`);
    throw error;
  }
}

databaseOptions(program.command('start'))
  .description('start OpenSpine: every enabled service on one HTTP port')
  .addOption(new Option('-p, --port <port>', 'HTTP port').env(environmentName('port')).default(String(DEFAULTS.port)))
  .addOption(new Option('--host <address>', 'address to listen on').env(environmentName('host')).default(DEFAULTS.host))
  .addOption(new Option('--services <list>', 'comma-separated services to run, or all').env(environmentName('services')).default('all'))
  .addOption(new Option('--sandbox', 'behave as the NHS public sandboxes: no token needed, test data (never for real patients)').env(environmentName('sandbox')))
  .addOption(new Option('--public-base-url <url>', 'the URL clients reach OpenSpine at, for links').env(environmentName('publicBaseUrl')))
  .action(async (options: ConfigInput) => {
    const config = configFrom(options);
    const log = createLogger(config.logLevel);
    const openspine = await startOpenSpine(config, log);
    printBanner(config, openspine.url);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ signal }, 'stopping: finishing requests in flight');
      openspine.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'stop failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

databaseOptions(program.command('migrate'))
  .description('apply pending database migrations, then exit')
  .action(async (options: ConfigInput) => {
    const config = configFrom(options);
    const log = createLogger(config.logLevel);
    const database = await openDatabase(config, log, 'tool');
    try {
      const applied = await migrate(database.db, log);
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
    } finally {
      await database.close();
    }
  });

databaseOptions(program.command('seed'))
  .description('load the demo data of every enabled service (running it twice adds nothing)')
  .addOption(new Option('--services <list>', 'comma-separated services, or all').env(environmentName('services')).default('all'))
  .action(async (options: ConfigInput) => {
    const config = configFrom(options);
    const log = createLogger(config.logLevel);
    const database = await openDatabase(config, log, 'tool');
    try {
      await prepareDatabase(config, database.db, log);
      console.log(`Demo data is loaded for: ${config.services.join(', ')}`);
    } finally {
      await database.close();
    }
  });

databaseOptions(program.command('read-only'))
  .description('switch read-only mode for every OpenSpine on this database: writes get 503, reads go on')
  .argument('<state>', 'on, off or status')
  .action(async (state: string, options: ConfigInput) => {
    if (!['on', 'off', 'status'].includes(state)) program.error(`openspine: read-only takes on, off or status, not '${state}'`);
    const config = configFrom(options);
    const log = createLogger(config.logLevel);
    const database = await openDatabase(config, log, 'tool');
    try {
      await migrate(database.db, log);
      if (state !== 'status') await setReadOnly(database.db, state === 'on');
      console.log(`Read-only mode is ${(await readReadOnly(database.db)) ? 'ON' : 'OFF'}.`);
    } finally {
      await database.close();
    }
  });

databaseOptions(program.command('token'))
  .description('print an access token (valid 599 s) for trying OpenSpine out')
  .option('--admin', `carry the ${ADMIN_SCOPE} scope (directory upkeep and other administration)`)
  .option('--lifetime <seconds>', 'lifetime in seconds', '599')
  .action(async (options: ConfigInput & { admin?: boolean; lifetime: string }) => {
    const config = configFrom(options);
    const log = createLogger(config.logLevel);
    const database = await openDatabase(config, log, 'tool');
    try {
      await migrate(database.db, log);
      const lifetimeSeconds = Number(options.lifetime);
      if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > 86_400) program.error('openspine: --lifetime must be 1 to 86400 seconds');
      const { accessToken } = await issueAccessToken(database.db, { actor: SYSTEM_ACTOR, scopes: options.admin ? [ADMIN_SCOPE] : [], lifetimeSeconds });
      console.log(accessToken);
    } finally {
      await database.close();
    }
  });

function printBanner(config: Config, url: string): void {
  const base = `${config.publicBaseUrl}${DIRECTORY_BASE}`;
  const lines = [
    '',
    `OpenSpine is running at ${url}  (services: ${config.services.join(', ')})`,
    `  status:   ${config.publicBaseUrl}/_status     metrics: ${config.publicBaseUrl}/metrics`,
    `  directory (SDS): ${base}`,
    '',
    'Try it:',
    config.sandbox
      ? `  curl -s '${base}/Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|A83008'`
      : `  TOKEN=$(npm run -s openspine -- token)\n  curl -s -H "Authorization: Bearer $TOKEN" '${base}/Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|A83008'`,
    '',
  ];
  if (config.sandbox) lines.push('WARNING: SANDBOX MODE: no access token is needed. Never use it for real patients.', '');
  console.log(lines.join('\n'));
}

await program.parseAsync();
