// `--against-unsecured`: what authentication and audit cost, measured so that the machine's
// drifting speed cancels out. This machine's speed moves by tens of per cent from one minute to the
// next, more than the cost to be measured, so a run followed by its unsecured twin cannot show it.
// Here two servers run side by side, one as in production and one unsecured (sandbox, audit off),
// each on a fresh database loaded with the same kind of data, and short measured windows alternate
// between them, in the order ABBA so that a steady drift falls on both alike. Each round (a window
// of each) gives one overhead figure; the median of the rounds is the one reported.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { measureCpu, type CpuShare } from './cpu.ts';
import { benchData } from './data.ts';
import { driveLoad, preflight, type LoadResult } from './load.ts';
import { fileStamp, writeReport } from './report.ts';
import { buildScenario, type Scenario } from './scenarios.ts';
import { startServer, type BenchServer } from './server.ts';

/** The bound on what authentication and audit may cost (identity and audit issue, "Bench"). */
const OVERHEAD_TARGET_PERCENT = 20;

export type PairedOptions = { connections: number; duration: number; warmup: number; rounds: number; seedCount: number; patients: number; out: string };
type HttpScenarioName = Parameters<typeof buildScenario>[0];

type Window = { requestsPerSecond: number; p99Ms: number; failed: number; cpu: CpuShare };
type Round = { audited: Window; unsecured: Window; overheadPercent: number };

export type PairedReport = {
  scenario: string;
  description: string;
  connections: number;
  windowSeconds: number;
  rounds: Round[];
  medianOverheadPercent: number;
  /**
   * The median over the rounds of what a request cost OpenSpine and its PostgreSQL in CPU, on each
   * server: steadier than throughput on a shared machine, it tells whether a change saved work.
   */
  medianCpuMicroseconds: { audited: number; unsecured: number };
  targetPercent: number;
  pass: boolean;
};

type Side = { label: 'audited' | 'unsecured'; server: BenchServer; scenario: Scenario };

/** Runs each scenario paired; false when a request failed or a server stopped. */
export async function runAgainstUnsecured(names: HttpScenarioName[], options: PairedOptions): Promise<boolean> {
  const runStarted = new Date();
  const logFile = (label: string) => path.resolve(options.out, `${fileStamp(runStarted)}-${label}-server.log`);
  const servers: BenchServer[] = [];
  await mkdir(options.out, { recursive: true });
  try {
    const audited = await startServer({ databaseUrl: undefined, logFile: logFile('audited'), unsecured: false });
    servers.push(audited);
    const unsecured = await startServer({ databaseUrl: undefined, logFile: logFile('unsecured'), unsecured: true });
    servers.push(unsecured);
    console.log(`OpenSpine audited ${audited.url} (pid ${audited.pid}) and unsecured ${unsecured.url} (pid ${unsecured.pid}), each on its own embedded PostgreSQL`);
    const auditedData = await benchData(audited, names, options);
    const unsecuredData = await benchData(unsecured, names, options);
    let healthy = true;
    for (const name of names) {
      const sides: [Side, Side] = [
        { label: 'audited', server: audited, scenario: buildScenario(name, auditedData) },
        { label: 'unsecured', server: unsecured, scenario: buildScenario(name, unsecuredData) },
      ];
      const report = await runPair(name, sides, options);
      console.log(`  median overhead ${report.medianOverheadPercent} % over ${report.rounds.length} rounds: target < ${OVERHEAD_TARGET_PERCENT} % ${report.pass ? 'PASS' : 'ABOVE'}`);
      const cpu = report.medianCpuMicroseconds;
      console.log(`  median CPU a request, OpenSpine and its PostgreSQL: audited ${cpu.audited} µs, unsecured ${cpu.unsecured} µs (+${percent(cpu.audited / cpu.unsecured - 1)} %)`);
      console.log(`  written to ${await writeReport(options.out, runStarted, report)}`);
      if (report.rounds.some((round) => round.audited.failed + round.unsecured.failed > 0)) healthy = false;
      const exit = servers.map((server) => server.exitedEarly()).find((reason) => reason !== undefined);
      if (exit) {
        console.error(exit);
        return false;
      }
    }
    return healthy;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function runPair(name: HttpScenarioName, sides: [Side, Side], options: PairedOptions): Promise<PairedReport> {
  const [first] = sides;
  console.log(`\n${name}: ${first.scenario.description}; ${options.connections} connections, ${options.rounds} rounds of a ${options.duration} s window on each server`);
  for (const side of sides) {
    await preflight(side.server, side.scenario);
    if (options.warmup > 0) await drive(side, options.connections, options.warmup);
  }
  const rounds: Round[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // ABBA: the server measured first alternates, so a drift over the run weighs on both alike.
    const order = round % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
    const windows: Partial<Record<Side['label'], Window>> = {};
    for (const side of order) windows[side.label] = await measuredWindow(side, options);
    const { audited, unsecured } = windows as Record<Side['label'], Window>;
    const overheadPercent = percent(1 - audited.requestsPerSecond / unsecured.requestsPerSecond);
    rounds.push({ audited, unsecured, overheadPercent });
    console.log(`  round ${round + 1}: audited ${windowText(audited)}; unsecured ${windowText(unsecured)}; overhead ${overheadPercent} %`);
  }
  const medianOverheadPercent = median(rounds.map((round) => round.overheadPercent));
  const medianCpu = (label: Side['label']) => median(rounds.map((round) => cpuMicroseconds(round[label])));
  return {
    scenario: `${name}-against-unsecured`,
    description: first.scenario.description,
    connections: options.connections,
    windowSeconds: options.duration,
    rounds,
    medianOverheadPercent,
    medianCpuMicroseconds: { audited: medianCpu('audited'), unsecured: medianCpu('unsecured') },
    targetPercent: OVERHEAD_TARGET_PERCENT,
    pass: medianOverheadPercent < OVERHEAD_TARGET_PERCENT,
  };
}

function drive(side: Side, connections: number, durationSeconds: number): Promise<LoadResult> {
  return driveLoad({ url: side.server.url, token: side.server.tokens[side.scenario.caller], connections, durationSeconds, next: side.scenario.next });
}

async function measuredWindow(side: Side, options: PairedOptions): Promise<Window> {
  const cpu = measureCpu(side.server.pid, side.server.dataDir);
  const result = await drive(side, options.connections, options.duration);
  return { requestsPerSecond: result.requestsPerSecond, p99Ms: result.latencyMs.p99, failed: result.non2xx + result.errors + result.timeouts, cpu: cpu() };
}

/** CPU µs a request of a share of a core (in per cent) over a window. */
function perRequest(share: number, window: Window): number {
  return Math.round((share * 10_000) / window.requestsPerSecond);
}

/** What a request cost the server and its PostgreSQL together, in CPU µs. */
function cpuMicroseconds(window: Window): number {
  return perRequest(window.cpu.openspine + (window.cpu.postgres ?? 0), window);
}

/** Requests a second, p99, and the CPU each request cost the server and its PostgreSQL. */
function windowText(window: Window): string {
  const microseconds = (share: number | undefined) => (share === undefined ? '?' : perRequest(share, window));
  const failed = window.failed > 0 ? `, ${window.failed} FAILED` : '';
  return `${window.requestsPerSecond} req/s, p99 ${window.p99Ms} ms, CPU µs/request openspine ${microseconds(window.cpu.openspine)} postgres ${microseconds(window.cpu.postgres)}${failed}`;
}

/** A fraction as a percentage, to a tenth. */
function percent(fraction: number): number {
  return tenth(fraction * 100);
}

function tenth(value: number): number {
  return Math.round(value * 10) / 10;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : tenth(((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2);
}
