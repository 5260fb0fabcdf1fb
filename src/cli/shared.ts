// What the commands share: the database options, reading the configuration, and running work
// against the database (embedded or external) with migrations applied.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, DEFAULTS, environmentName, loadConfig, type Config, type ConfigInput } from '../platform/config.ts';
import type { Database } from '../platform/db/connect.ts';
import { migrate } from '../platform/db/migrate.ts';
import { createLogger } from '../platform/log.ts';
import { openDatabase } from '../openspine.ts';

/** The options every command shares: where the database is. */
export function databaseOptions(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <path>', 'folder of the embedded PostgreSQL').env(environmentName('dataDir')).default(DEFAULTS.dataDir))
    .addOption(new Option('--database-url <url>', 'use this PostgreSQL instead of the embedded one').env(environmentName('databaseUrl')))
    .addOption(new Option('--embedded-postgres-port <port>', 'port of the embedded PostgreSQL').env(environmentName('embeddedPostgresPort')).default(String(DEFAULTS.embeddedPostgresPort)))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug or trace').env(environmentName('logLevel')).default(DEFAULTS.logLevel));
}

/** Parses an option that must be a whole number, zero or more. */
export function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('a whole number is needed');
  return parsed;
}

export function configFrom(command: Command, options: ConfigInput): Config {
  try {
    return loadConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) command.error(`openspine: ${error.message}`);
    throw error;
  }
}

/** Opens the database (attaching to a running OpenSpine's embedded one), migrates, runs the work, closes. */
export async function withDatabase<T>(
  command: Command,
  options: ConfigInput,
  work: (db: Database, config: Config, log: Logger) => Promise<T>,
  { migrateFirst = true } = {},
): Promise<T> {
  const config = configFrom(command, options);
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log, 'tool');
  try {
    if (migrateFirst) await migrate(database.db, log);
    return await work(database.db, config, log);
  } finally {
    await database.close();
  }
}
