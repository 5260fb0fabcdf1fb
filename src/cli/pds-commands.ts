// `openspine population`, `openspine import` and `openspine export`: a synthetic population as
// NDJSON, and the bulk load and export of PDS records, with progress and rate on stderr.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { gpPracticeCodes } from '../directory/index.ts';
import type { ConfigInput } from '../platform/config.ts';
import { exportPatients, importPatients, PatientImportError, type BulkProgress } from '../pds/bulk.ts';
import { FIRST_NHS_PREFIX, generatePatients } from '../pds/population.ts';
import { isValidOdsCode } from '../platform/identifiers/ods-code.ts';
import { databaseOptions, progressReporter, withDatabase, wholeNumber, type Progress } from './shared.ts';

/** Patients written between progress lines. */
const PROGRESS_EVERY = 10_000;

function nineDigits(value: string): number {
  if (!/^[1-9]\d{8}$/.test(value)) throw new InvalidArgumentError('nine digits are needed, the first not 0');
  return Number(value);
}

function odsCodes(value: string): string[] {
  const codes = value.split(',').map((code) => code.trim().toUpperCase()).filter(Boolean);
  const invalid = codes.filter((code) => !isValidOdsCode(code));
  if (codes.length === 0 || invalid.length > 0) throw new InvalidArgumentError(`ODS codes are needed${invalid.length ? `, not ${invalid.join(', ')}` : ''}`);
  return codes;
}

export function registerPdsCommands(program: Command): void {
  // The database options matter only with --practices-from-directory; without it no database is opened.
  const population = databaseOptions(program.command('population'))
    .description('write a synthetic population of patients as NDJSON (FHIR Bulk Data), the same for the same seed')
    .requiredOption('--patients <count>', 'how many patients', wholeNumber)
    .option('--seed <number>', 'the seed: the same seed gives the same patients', wholeNumber, 1)
    .option('--first-nhs-digits <digits>', 'the first nine digits of the first NHS number, so that populations loaded into one database do not overlap', nineDigits, FIRST_NHS_PREFIX)
    .option('--practices <codes>', 'register patients at these GP practices (ODS codes, comma-separated) instead of made-up regional ones', odsCodes)
    .addOption(
      new Option('--practices-from-directory', "register patients at the GP practices held in OpenSpine's directory, read from its database (--data-dir or --database-url, the only use of those here); refused if it holds none").conflicts('practices'),
    )
    .option('--out <file>', 'write to this file instead of stdout');
  type PopulationFlags = { patients: number; seed: number; firstNhsDigits: number; practices?: string[]; practicesFromDirectory?: boolean; out?: string };
  population.action(async (options: ConfigInput & PopulationFlags) => {
    const { patients, seed, firstNhsDigits, practices: given, practicesFromDirectory = false, out, ...databaseSettings } = options;
    // Logs go to stdout: with the records there too, only errors may be logged.
    const practices = practicesFromDirectory ? await directoryPractices(population, out ? databaseSettings : { ...databaseSettings, logLevel: 'error' }) : given;
    const output = out ? createWriteStream(out) : process.stdout;
    const progress = progressReporter('patients generated', { records: patients });
    let chunk = '';
    let written = 0;
    const settings = { count: patients, seed, firstNineDigits: firstNhsDigits, ...(practices ? { practices } : {}) };
    for (const patient of generatePatients(settings)) {
      chunk += `${JSON.stringify(patient)}\n`;
      if (++written % PROGRESS_EVERY === 0) {
        if (!output.write(chunk)) await once(output, 'drain');
        chunk = '';
        progress({ records: written });
      }
    }
    await endOutput(output, chunk);
    progress({ records: written }, true);
  });

  const load = databaseOptions(program.command('import'))
    .description('load patients from an NDJSON file into PDS: all or none, checked by count and checksum; NHS numbers already held refuse the load; reads and searches go on while it runs')
    .argument('<file>', 'NDJSON, one FHIR Patient per line (as `openspine population` or `openspine export` write)')
    .option('--lock-table', 'into a table that holds patients, rebuild its indexes as into an empty one: faster when it holds few compared with the file (e.g. only the demo patients), but reads and searches wait until the load ends');
  load.action(async (file: string, options: ConfigInput & { lockTable?: boolean }) => {
    const size = (await stat(file)).size;
    try {
      const { lockTable = false, ...settings } = options;
      await withDatabase(load, settings, async (db) => {
        const started = performance.now();
        const progress = progressReporter('patients loaded', { bytes: size });
        const summary = await importPatients(db, createReadStream(file), { lockTable, onProgress: (report) => progress(bulkProgress(report)) });
        const seconds = (performance.now() - started) / 1000;
        if (process.stderr.isTTY) process.stderr.write('\n');
        console.log(`Loaded ${summary.records} patients in ${seconds.toFixed(1)} s (${Math.round(summary.records / seconds)}/s). Verified: the table holds them all, checksum ${summary.checksum} as read from the file.`);
      });
    } catch (error) {
      if (!(error instanceof PatientImportError)) throw error;
      console.error(`\nopenspine: the import failed, nothing was loaded: ${error.message}`);
      process.exitCode = 1;
    }
  });

  const exportCommand = databaseOptions(program.command('export'))
    .description('write every PDS record as NDJSON (FHIR Bulk Data), in NHS number order: merged ones with their replaced-by link, invalidated ones with a REDACTED security label, so that a load of the file keeps every NHS number from being given out again')
    .option('--out <file>', 'write to this file instead of stdout');
  exportCommand.action(async (options: ConfigInput & { out?: string }) => {
    // Logs go to stdout: with the records there too, only errors may be logged.
    const settings = options.out ? options : { ...options, logLevel: 'error' };
    await withDatabase(exportCommand, settings, async (db) => {
      const output = options.out ? createWriteStream(options.out) : process.stdout;
      const progress = progressReporter('patients exported');
      const summary = await exportPatients(db, output, { onProgress: (report) => progress(bulkProgress(report)) });
      await endOutput(output, '');
      progress({ records: summary.records }, true);
      console.error(`Checksum ${summary.checksum} (the same as \`openspine import\` reports on loading it).`);
    });
  });
}

/** The ODS codes of the GP practices in the directory; the command stops if there are none. */
async function directoryPractices(command: Command, settings: ConfigInput): Promise<string[]> {
  const codes = await withDatabase(command, settings, (db) => gpPracticeCodes(db));
  if (codes.length === 0) {
    command.error('openspine: the directory holds no GP practice (an Organization of type organisation-role 76) to register patients at; add one, or give --practices');
  }
  return codes;
}

async function endOutput(output: Writable, last: string): Promise<void> {
  if (output === process.stdout) {
    if (!output.write(last)) await once(output, 'drain');
    return;
  }
  output.end(last);
  await finished(output);
}

/** A bulk report as a progress line shows it: a stage other than the loading or exporting itself is named. */
function bulkProgress(report: BulkProgress): Progress {
  return { records: report.records, bytes: report.bytes, ...(report.phase === 'loading' || report.phase === 'exporting' ? {} : { phase: report.phase }) };
}
