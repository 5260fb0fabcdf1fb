// What the commands share: the database options, reading the configuration, and running work
// against the database (embedded or external) with migrations applied.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, DEFAULTS, environmentName, loadConfig, type Config, type ConfigInput } from '../platform/config.ts';
import type { Database } from '../platform/db/connect.ts';
import { SpineError } from '../platform/errors.ts';
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

/**
 * Opens the database (attaching to a running OpenSpine's embedded one), migrates, runs the work,
 * closes. What the services refuse as the caller's mistake (a SpineError below 500: an application
 * id that is not one, say) is said as the command's error, once the database is closed.
 */
export async function withDatabase<T>(
  command: Command,
  options: ConfigInput,
  work: (db: Database, config: Config, log: Logger) => Promise<T>,
  { migrateFirst = true } = {},
): Promise<T> {
  const config = configFrom(command, options);
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log, 'tool');
  let refusal: SpineError;
  try {
    if (migrateFirst) await migrate(database.db, log);
    return await work(database.db, config, log);
  } catch (error) {
    if (!(error instanceof SpineError) || error.status >= 500) throw error;
    refusal = error;
  } finally {
    await database.close();
  }
  return command.error(`openspine: ${refusal.diagnostics ?? refusal.message}`);
}

/** How far a long command has gone: records done, bytes read (when the total is in bytes), and the stage when it is not the main one. */
export type Progress = { records: number; bytes?: number; phase?: string };

const BAR_WIDTH = 30;

/**
 * A progress line on stderr with the rate, `label` saying what the records are (`patients loaded`):
 * redrawn in place on a terminal (a bar when a total is known), otherwise one line per tenth of a
 * million records, so logs stay short.
 */
export function progressReporter(label: string, totals: { records?: number; bytes?: number } = {}): (progress: Progress, last?: boolean) => void {
  const started = performance.now();
  let lastLogged = 0;
  return (progress, last = false) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = Math.round(progress.records / Math.max(seconds, 0.001));
    const share = totals.records ? progress.records / totals.records : totals.bytes ? (progress.bytes ?? 0) / totals.bytes : undefined;
    const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * BAR_WIDTH)).padEnd(BAR_WIDTH, '.')}] ${Math.floor(share * 100)}% `;
    const phase = progress.phase ? ` (${progress.phase})` : '';
    const text = `${bar}${progress.records} ${label}, ${seconds.toFixed(1)} s, ${rate}/s${phase}`;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}${last ? '\n' : ''}`);
    else if ((last && progress.records !== lastLogged) || phase || progress.records - lastLogged >= 100_000) {
      lastLogged = progress.records;
      process.stderr.write(`${text}\n`);
    }
  };
}
