// The `openspine` command: start, migrate, seed, read-only, token, keys, identity, audit,
// population, import and export, each with --help.
import { Command, Option } from 'commander';
import { DIRECTORY_BASE } from '../directory/index.ts';
import { DEMO_APPLICATIONS, DEMO_NHS_LOGIN_ACCOUNTS, DEMO_PASSWORD, DEMO_PEOPLE, NHS_LOGIN_ISSUER_PATH } from '../identity/index.ts';
import { DEFAULTS, environmentName, type Config, type ConfigInput } from '../platform/config.ts';
import { migrate } from '../platform/db/migrate.ts';
import { SpineError } from '../platform/errors.ts';
import { createLogger } from '../platform/log.ts';
import { readReadOnly, setReadOnly } from '../platform/read-only.ts';
import { prepareDatabase, startOpenSpine } from '../openspine.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerIdentityCommands } from './identity-commands.ts';
import { registerMeshCommands } from './mesh-commands.ts';
import { registerPdsCommands } from './pds-commands.ts';
import { configFrom, databaseOptions, withDatabase } from './shared.ts';

const program = new Command('openspine').description('OpenSpine: the NHS Spine national services, open source').showHelpAfterError();

const start = databaseOptions(program.command('start'))
  .description('start OpenSpine: every enabled service on one HTTP port')
  .addOption(new Option('-p, --port <port>', 'HTTP port').env(environmentName('port')).default(String(DEFAULTS.port)))
  .addOption(new Option('--host <address>', 'address to listen on').env(environmentName('host')).default(DEFAULTS.host))
  .addOption(new Option('--services <list>', 'comma-separated services to run, or all').env(environmentName('services')).default('all'))
  // Not commander's .env(): it would take OPENSPINE_SANDBOX=false for true. The config reads it.
  .addOption(new Option('--sandbox', `behave as the NHS public sandboxes: no token needed, test data (never for real patients); env: ${environmentName('sandbox')}`))
  .addOption(new Option('--public-base-url <url>', 'the URL clients reach OpenSpine at, for links').env(environmentName('publicBaseUrl')))
  .addOption(new Option('--trusted-proxies <list>', 'IPs or CIDR ranges of the proxies in front whose X-Forwarded-For is believed').env(environmentName('trustedProxies')));
start.action(async (options: ConfigInput) => {
  const config = configFrom(start, options);
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

const migrateCommand = databaseOptions(program.command('migrate')).description('apply pending database migrations, then exit');
migrateCommand.action(async (options: ConfigInput) =>
  withDatabase(
    migrateCommand,
    options,
    async (db, _config, log) => {
      const applied = await migrate(db, log);
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
    },
    { migrateFirst: false },
  ),
);

const seed = databaseOptions(program.command('seed'))
  .description('load the demo data of every enabled service (running it twice adds nothing)')
  .addOption(new Option('--services <list>', 'comma-separated services, or all').env(environmentName('services')).default('all'));
seed.action(async (options: ConfigInput) =>
  withDatabase(seed, options, async (db, config, log) => {
    await prepareDatabase(config, db, log);
    console.log(`Demo data is loaded for: ${config.services.join(', ')}`);
  }),
);

const readOnly = databaseOptions(program.command('read-only'))
  .description('switch read-only mode for every OpenSpine on this database: writes get 503, reads go on')
  .argument('<state>', 'on, off or status');
readOnly.action(async (state: string, options: ConfigInput) => {
  if (!['on', 'off', 'status'].includes(state)) readOnly.error(`openspine: read-only takes on, off or status, not '${state}'`);
  await withDatabase(readOnly, options, async (db) => {
    if (state !== 'status') await setReadOnly(db, state === 'on');
    console.log(`Read-only mode is ${(await readReadOnly(db)) ? 'ON' : 'OFF'}.`);
  });
});

registerIdentityCommands(program);
registerAuditCommands(program);
registerPdsCommands(program);
registerMeshCommands(program);

function printBanner(config: Config, url: string): void {
  const base = `${config.publicBaseUrl}${DIRECTORY_BASE}`;
  const search = `'${base}/Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|A83008'`;
  const lines = [
    '',
    `OpenSpine is running at ${url}  (services: ${config.services.join(', ')})`,
    `  status:   ${config.publicBaseUrl}/_status     metrics: ${config.publicBaseUrl}/metrics`,
    `  directory (SDS): ${base}`,
    '',
    `Demo staff (password '${DEMO_PASSWORD}' on the sign-in page):`,
    ...DEMO_PEOPLE.map((person) => `  ${person.userId}  ${person.title.padEnd(12)} role profile ${person.role.roleProfileId} at ${person.role.orgCode}`),
    'Demo applications (register their public keys with `openspine identity add-app`, or use `token --app`):',
    ...DEMO_APPLICATIONS.map((application) => `  ${application.applicationId.padEnd(26)} ${application.accessModes.join(', ')}`),
    `Demo patients' NHS login accounts (password '${DEMO_PASSWORD}' at ${config.publicBaseUrl}${NHS_LOGIN_ISSUER_PATH}; only P9 gets patient access):`,
    ...DEMO_NHS_LOGIN_ACCOUNTS.map((account) => `  ${account.email.padEnd(26)} ${account.identityProofingLevel}  ${account.nhsNumber ?? '(no NHS number)'}`),
    '',
    'Try it:',
    config.sandbox
      ? `  curl -s ${search}`
      : [
          `  TOKEN=$(npm run -s openspine -- token --user ${DEMO_PEOPLE[0]?.userId ?? ''})`,
          `  curl -s -H "Authorization: Bearer $TOKEN" -H "NHSD-Session-URID: ${DEMO_PEOPLE[0]?.role.roleProfileId ?? ''}" ${search}`,
        ].join('\n'),
    '',
  ];
  if (config.sandbox) lines.push('WARNING: SANDBOX MODE: no access token is needed. Never use it for real patients.', '');
  console.log(lines.join('\n'));
}

try {
  await program.parseAsync();
} catch (error) {
  // A refusal (bad input, unknown person) is a message for the person at the terminal, not a stack trace.
  if (!(error instanceof SpineError)) throw error;
  console.error(`openspine: ${error.diagnostics ?? error.spineCode}`);
  process.exitCode = 1;
}
