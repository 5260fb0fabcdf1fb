// Reports a scenario's numbers: one table line checked against its target on the terminal, and a
// JSON file in the results folder naming the machine, Node version and commit they were measured on.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import type { CpuShare } from './cpu.ts';
import type { LoadResult } from './load.ts';
import type { Scenario } from './scenarios.ts';

export type TargetCheck = { metric: 'req/s' | 'p99 ms'; target: string; measured: number; pass: boolean };

export type ScenarioReport = {
  scenario: Scenario['name'];
  description: string;
  connections: number;
  warmupSeconds: number;
  seedCount: number;
  database: 'embedded' | 'external';
  /** Authentication and audit on (as in production), or off (sandbox, audit off) for comparison. */
  security: 'on' | 'off';
  result: LoadResult;
  targets: TargetCheck[];
  cpuPercentOfOneCore: CpuShare;
};

const COLUMNS: [title: string, width: number][] = [
  ['scenario', 12], ['conns', 5], ['secs', 5], ['requests', 8], ['req/s', 6], ['p50', 6], ['p95', 6], ['p99', 6], ['max', 7], ['non-2xx', 7], ['err/t-o', 7],
];

export function checkTargets(target: Scenario['target'], result: LoadResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  if (target.requestsPerSecond !== undefined) {
    checks.push({ metric: 'req/s', target: `>= ${target.requestsPerSecond}`, measured: result.requestsPerSecond, pass: result.requestsPerSecond >= target.requestsPerSecond });
  }
  checks.push({ metric: 'p99 ms', target: `< ${target.p99Ms}`, measured: result.latencyMs.p99, pass: result.latencyMs.p99 < target.p99Ms });
  return checks;
}

export function tableHeader(): string {
  return `${row(COLUMNS.map(([title]) => title))}  targets   (latency in ms)`;
}

export function tableLine(report: ScenarioReport): string {
  const { result } = report;
  const { latencyMs } = result;
  const cells = [
    report.scenario, report.connections, result.durationSeconds, result.requests, result.requestsPerSecond,
    ...[latencyMs.p50, latencyMs.p95, latencyMs.p99, latencyMs.max].map((ms) => ms.toFixed(1)), result.non2xx, `${result.errors}/${result.timeouts}`,
  ];
  const targets = report.targets.map((check) => `${check.metric} ${check.target} ${check.pass ? 'PASS' : 'BELOW'}`).join(', ');
  return `${row(cells.map(String))}  ${targets}`;
}

export function cpuLine(cpu: CpuShare): string {
  const postgres = cpu.postgres === undefined ? '' : `, postgres ${cpu.postgres}%`;
  return `  cpu (% of one core; the machine has ${cpus().length}): openspine ${cpu.openspine}%${postgres}, load generator ${cpu.loadGenerator}%, whole machine ${cpu.machine}%`;
}

function row(cells: string[]): string {
  return cells.map((cell, index) => (index === 0 ? cell.padEnd(COLUMNS[0]?.[1] ?? 0) : cell.padStart(COLUMNS[index]?.[1] ?? 0))).join(' ');
}

/** The start of a run as it appears in file names: 2025-01-31T09-05-00Z. */
export function fileStamp(time: Date): string {
  return time.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
}

/** Writes `<out>/<timestamp>-<scenario>.json` and returns its path. */
export async function writeReport(outDir: string, runStarted: Date, report: { scenario: string }): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `${fileStamp(runStarted)}-${report.scenario}.json`);
  const changes = git('status', '--porcelain');
  const measuredOn = {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryBytes: totalmem() },
    node: process.version,
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedChanges: changes === undefined ? undefined : changes !== '',
  };
  await writeFile(file, `${JSON.stringify({ runStarted: runStarted.toISOString(), ...report, ...measuredOn }, null, 2)}\n`);
  return file;
}

function git(...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: path.dirname(import.meta.dirname), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
