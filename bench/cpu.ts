// Where the cores went during a run: CPU time of the OpenSpine process, of its embedded PostgreSQL
// (postmaster and backends), of this load generator, and of the whole machine (Linux /proc).
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';

/** Percent of one core, averaged over the run (the machine's figure goes up to cores × 100). */
export type CpuShare = { openspine: number; postgres: number | undefined; loadGenerator: number; machine: number };

/** Clock ticks per second of /proc/<pid>/stat: USER_HZ, 100 on Linux. */
const TICKS_PER_SECOND = 100;

/** Starts measuring; the function returned ends the measurement and gives the shares. */
export function measureCpu(serverPid: number, dataDir: string): () => CpuShare {
  const started = performance.now();
  const postmaster = postmasterPid(dataDir);
  const server = processTicks(serverPid) ?? 0;
  const postgres = postmaster === undefined ? undefined : familyTicks(postmaster);
  const loadGenerator = process.cpuUsage();
  const machine = machineBusyMs();
  return () => {
    const wallMs = performance.now() - started;
    const percentOfTicks = (ticks: number) => Math.round((ticks * 1000) / TICKS_PER_SECOND / wallMs * 100);
    const used = process.cpuUsage(loadGenerator);
    return {
      openspine: percentOfTicks((processTicks(serverPid) ?? server) - server),
      postgres: postmaster === undefined || postgres === undefined ? undefined : percentOfTicks(ticksSince(familyTicks(postmaster), postgres)),
      loadGenerator: Math.round(((used.user + used.system) / 1000 / wallMs) * 100),
      machine: Math.round(((machineBusyMs() - machine) / wallMs) * 100),
    };
  };
}

/** The embedded PostgreSQL's postmaster, from the first line of its pid file (none for an external database). */
function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, and its parent's pid; undefined once it has gone. */
function processStat(pid: number): { ticks: number; parent: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' '); // after the command name, which may hold spaces
    return { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

function processTicks(pid: number): number | undefined {
  return processStat(pid)?.ticks;
}

/** Ticks of a process and of each of its children, by pid. */
function familyTicks(parent: number): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = processStat(pid);
    if (stat && (pid === parent || stat.parent === parent)) ticks.set(pid, stat.ticks);
  }
  return ticks;
}

/** Ticks used since the first reading by the processes alive at the second (a process born in between counts whole). */
function ticksSince(now: Map<number, number>, before: Map<number, number>): number {
  let total = 0;
  for (const [pid, ticks] of now) total += ticks - (before.get(pid) ?? 0);
  return total;
}

function machineBusyMs(): number {
  return cpus().reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
}
