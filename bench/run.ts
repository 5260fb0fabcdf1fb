// `npm run bench -- <scenario...>`: starts OpenSpine on a fresh database, seeds it (organisations,
// or a bulk-loaded population of patients for the PDS scenarios), drives each scenario at a fixed
// number of connections for a fixed time, and reports and records the numbers.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { measureCpu } from './cpu.ts';
import { benchData } from './data.ts';
import { driveLoad, preflight } from './load.ts';
import { runAgainstUnsecured } from './paired.ts';
import { checkTargets, cpuLine, fileStamp, tableHeader, tableLine, writeReport, type ScenarioReport } from './report.ts';
import { describeEpsScenario, epsReportLines, epsRunHealthy, runEpsScenario } from './eps.ts';
import { describeMeshScenario, meshReportLines, meshRunHealthy, runMeshScenario } from './mesh.ts';
import { buildScenario, dataNeeded, isEpsScenario, isMeshScenario, SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenarios.ts';
import { startServer, type BenchServer } from './server.ts';
import { openStatementsProbe, STATEMENTS_SETTINGS, type StatementsProbe } from './statements.ts';

type Options = { connections: number; duration: number; warmup: number; seedCount: number; patients: number; databaseUrl?: string; dataDir?: string; out: string; unsecured?: boolean; bulkMib: number; statements?: boolean; cpuProf?: string; againstUnsecured?: boolean; rounds: number };

function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`a whole number of at least ${min} is needed`);
    return parsed;
  };
}

/** The scenarios asked for, in the order of SCENARIO_NAMES whatever the order given. */
function scenarioNames(given: string[]): ScenarioName[] {
  const unknown = given.filter((name) => name !== 'all' && !(SCENARIO_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) program.error(`bench: unknown scenario '${unknown.join("', '")}'; known: ${SCENARIO_NAMES.join(', ')} or all`);
  return SCENARIO_NAMES.filter((name) => given.includes(name) || given.includes('all'));
}

const program = new Command('bench')
  .description('Load-test OpenSpine: start it on a fresh database, seed it, then drive each scenario (warmup, then the measured run)')
  .argument('<scenarios...>', `${SCENARIO_NAMES.join(', ')} or all`)
  .option('-c, --connections <count>', 'concurrent HTTP connections', wholeNumber(1), 64)
  .option('-d, --duration <seconds>', 'length of each measured run', wholeNumber(1), 15)
  .option('-w, --warmup <seconds>', 'unmeasured load before each run (0 for none)', wholeNumber(0), 3)
  .option('--seed-count <count>', 'organisations loaded before the read and search scenarios', wholeNumber(1), 10_000)
  .option('--patients <count>', 'patients generated and bulk-loaded before the pds-* scenarios (the targets are for 1000000)', wholeNumber(1), 100_000)
  .option('--database-url <url>', 'bench against this PostgreSQL instead of an embedded one')
  .option('--data-dir <folder>', 'start on this data folder, its patients already loaded (e.g. by openspine population and import): nothing is generated, the pds-* scenarios ask for a sample of its patients, and the folder is kept')
  .option('--out <folder>', 'folder for the JSON results and the server log', 'bench/results')
  .option('--unsecured', 'run OpenSpine in sandbox mode with audit off, to measure what authentication and audit cost')
  .option('--statements', 'also count what each scenario asks of PostgreSQL (statements and transactions per request, message or lifecycle; the costliest statements), from pg_stat_statements, which the embedded PostgreSQL then loads')
  .option('--cpu-prof <folder>', 'write a V8 CPU profile of the server (.cpuprofile, for Chrome DevTools) into this folder when it stops')
  .option('--against-unsecured', 'measure what authentication and audit cost: an unsecured server runs beside the audited one, and measured windows of --duration alternate between them for --rounds rounds (read, search-token, create and pds-* only)')
  .option('--rounds <count>', 'rounds of --against-unsecured (a window on each server; even)', wholeNumber(2), 6)
  .option('--bulk-mib <MiB>', 'size of mesh-bulk\'s chunked message (the target is for 1024)', wholeNumber(1), 1024)
  .showHelpAfterError()
  .action(async (given: string[], options: Options) => {
    try {
      const names = scenarioNames(given);
      process.exitCode = (await (options.againstUnsecured ? runPaired(names, options) : runBench(names, options))) ? 0 : 1;
    } catch (error) {
      console.error('bench failed:', error);
      process.exitCode = 1;
    }
  });

/** The scenarios against their unsecured twins (bench/paired.ts): HTTP scenarios only, each server on a fresh embedded database. */
function runPaired(names: ScenarioName[], options: Options): Promise<boolean> {
  const http = names.filter((name) => !isMeshScenario(name) && !isEpsScenario(name));
  if (http.length < names.length) program.error(`bench: --against-unsecured measures the HTTP scenarios only (read, search-token, create, pds-*)`);
  // Rounds alternate which server goes first (ABBA): only an even number of them weighs a drift on both alike.
  if (options.rounds % 2 === 1) program.error('bench: --rounds must be even, so that each server goes first as often as the other');
  const clash = (['unsecured', 'statements', 'cpuProf', 'dataDir', 'databaseUrl'] as const).filter((option) => options[option] !== undefined);
  if (clash.length > 0) program.error(`bench: --against-unsecured starts its own two servers; it cannot be combined with ${clash.map((option) => `--${option.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`).join(', ')}`);
  return runAgainstUnsecured(http, options);
}

/** Runs the scenarios; false when something broke (an error answer, a failed request, the server gone). */
async function runBench(names: ScenarioName[], options: Options): Promise<boolean> {
  const runStarted = new Date();
  const logFile = path.resolve(options.out, `${fileStamp(runStarted)}-server.log`);
  await mkdir(options.out, { recursive: true });
  const server = await startServer({
    databaseUrl: options.databaseUrl, logFile, unsecured: options.unsecured ?? false,
    ...(options.dataDir ? { dataDir: path.resolve(options.dataDir) } : {}),
    ...(options.statements ? { postgresSettings: STATEMENTS_SETTINGS } : {}),
    ...(options.cpuProf ? { cpuProfileDir: path.resolve(options.cpuProf) } : {}),
  });
  let statements: StatementsProbe | undefined;
  try {
    if (options.statements) statements = await openStatementsProbe(server, options.databaseUrl);
    const probe = statements;
    const onMeasuredRun = probe ? { onMeasuredRun: () => probe.reset() } : {};
    console.log(`OpenSpine ${server.url} (pid ${server.pid})${options.unsecured ? ' UNSECURED (sandbox, audit off)' : ''}, ${options.databaseUrl ? 'external PostgreSQL' : `embedded PostgreSQL in ${server.dataDir}`}; log: ${logFile}`);
    const data = await benchData(server, names, options);
    const reports: ScenarioReport[] = [];

    /** Runs one scenario: what to print and record, whether every request went as it should, and if not what to say. */
    const run = async (name: ScenarioName): Promise<{ report: { scenario: string }; lines: string[]; units: number; unit: string; healthy: boolean; failure?: string }> => {
      if (isMeshScenario(name)) {
        // MESH's scenarios drive their own signed requests (bench/mesh.ts) and report in their own terms.
        const meshOptions = { ...options, bulkMiB: options.bulkMib, ...onMeasuredRun };
        console.log(`\n${name}: ${describeMeshScenario(name, meshOptions)}${name === 'mesh-small' ? `; ${options.warmup} s warmup, ${options.duration} s measured` : ''}`);
        const report = await runMeshScenario(server, name, meshOptions);
        const units = report.scenario === 'mesh-small' ? report.messages : 1;
        return { report, lines: meshReportLines(report), units, unit: 'message', healthy: meshRunHealthy(report) };
      }
      if (isEpsScenario(name)) {
        // EPS's lifecycles chain five calls each, a fresh X-Request-ID on every one (bench/eps.ts).
        console.log(`\n${name}: ${describeEpsScenario(options)}; ${options.warmup} s warmup, ${options.duration} s measured`);
        const report = await runEpsScenario(server, { ...options, ...onMeasuredRun });
        return { report, lines: epsReportLines(report), units: report.lifecycles, unit: 'lifecycle', healthy: epsRunHealthy(report) };
      }
      const report = await runScenario(server, buildScenario(name, data), { ...options, ...onMeasuredRun });
      reports.push(report);
      const { result } = report;
      const failed = result.non2xx > 0 || result.errors > 0 || result.timeouts > 0;
      return {
        report,
        lines: [tableHeader(), tableLine(report), cpuLine(report.cpuPercentOfOneCore)],
        units: result.requests,
        unit: 'request',
        healthy: !failed,
        ...(failed ? { failure: `  FAILED requests in ${name}: status codes ${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ${result.timeouts} timeouts; see ${logFile}` } : {}),
      };
    };

    let everyRunHealthy = true;
    for (const name of names) {
      const { report, lines, units, unit, healthy, failure } = await run(name);
      console.log([...lines, ...(probe ? await probe.report(units, unit) : [])].join('\n'));
      console.log(`  written to ${await writeReport(options.out, runStarted, report)}`);
      if (failure) console.error(failure);
      if (!healthy) everyRunHealthy = false;
      const exit = server.exitedEarly();
      if (exit) {
        console.error(exit);
        return false;
      }
    }
    if (reports.length > 1) console.log(`\nSummary\n${tableHeader()}\n${reports.map(tableLine).join('\n')}`);
    return everyRunHealthy;
  } finally {
    await statements?.close();
    await server.stop();
  }
}

/** `onMeasuredRun`: called as the measured run starts, after the warmup. */
async function runScenario(server: BenchServer, scenario: Scenario, options: Options & { onMeasuredRun?: () => Promise<void> }): Promise<ScenarioReport> {
  console.log(`\n${scenario.name}: ${scenario.description}; ${options.connections} connections, ${options.warmup} s warmup, ${options.duration} s measured`);
  await preflight(server, scenario);
  const load = { url: server.url, token: server.tokens[scenario.caller], connections: options.connections, next: scenario.next };
  if (options.warmup > 0) await driveLoad({ ...load, durationSeconds: options.warmup });
  await options.onMeasuredRun?.();
  const cpu = measureCpu(server.pid, server.dataDir);
  const result = await driveLoad({ ...load, durationSeconds: options.duration });
  return {
    scenario: scenario.name,
    description: scenario.description,
    connections: options.connections,
    warmupSeconds: options.warmup,
    seedCount: { organisations: options.seedCount, patients: options.patients, none: 0 }[dataNeeded(scenario.name)],
    database: options.databaseUrl ? 'external' : 'embedded',
    security: options.unsecured ? 'off' : 'on',
    result,
    targets: checkTargets(scenario.target, result),
    cpuPercentOfOneCore: cpu(),
  };
}

await program.parseAsync();
