// The real `openspine start` as a child process on a data folder of its own, for tests that crash it
// (test/crash.test.ts): start it, wait until it serves, stop it gracefully or kill it outright, and
// find the processes of its embedded PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const READY_BANNER = 'OpenSpine is running at';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/** Where one OpenSpine lives: its data folder and ports, kept across restarts. */
export type ServerSite = { dataDir: string; pgData: string; port: number; postgresPort: number; baseUrl: string };

export type ServerProcess = {
  /** What it printed (the last part), for failure messages. */
  output(): string;
  /** SIGTERM, then wait until it has exited (SIGKILL if it takes too long). */
  stop(): Promise<void>;
  /** Sends SIGKILL now; the returned promise settles once the process has exited. */
  kill(): Promise<void>;
  /** The exit code once it has exited (null while running, or when ended by a signal). */
  exitCode(): number | null;
};

async function createServerSite(): Promise<ServerSite> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'openspine-crash-'));
  await chmod(dataDir, 0o755); // as root the embedded PostgreSQL runs as `postgres`, who must enter it
  const port = await freePort();
  let postgresPort = await freePort();
  while (postgresPort === port) postgresPort = await freePort();
  return { dataDir, pgData: path.join(dataDir, 'postgres'), port, postgresPort, baseUrl: `http://127.0.0.1:${port}` };
}

/** A site for one test and the servers started on it: `start` starts OpenSpine there (again after a crash, on the same data). */
export type TestSite = { site: ServerSite; start(env?: Record<string, string>): Promise<ServerProcess> };

/** A new site for the test, disposed of after it: every server started on it stopped, its PostgreSQL killed, its folder removed. */
export async function testSite(t: Pick<TestContext, 'after'>): Promise<TestSite> {
  const site = await createServerSite();
  const servers: ServerProcess[] = [];
  t.after(() => disposeSite(site, servers));
  return {
    site,
    start: async (env = {}) => {
      const server = await startServer(site, env);
      servers.push(server);
      return server;
    },
  };
}

/** The address of the site's embedded PostgreSQL as OpenSpine's own user, from the credentials OpenSpine wrote into its data folder. */
export async function siteDatabaseUrl(site: ServerSite): Promise<string> {
  const { user, password } = JSON.parse(await readFile(path.join(site.dataDir, 'credentials.json'), 'utf8')) as { user: string; password: string };
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${site.postgresPort}/openspine`;
}

/** Starts `openspine start` (in sandbox mode unless `env` says otherwise) and resolves once it listens and its database answers. */
async function startServer(site: ServerSite, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'start'], {
    cwd: REPO_ROOT,
    env: { ...serverEnvironment(site), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = wrap(child);
  try {
    await waitForBanner(child, server);
    await waitFor(async () => (await fetch(`${site.baseUrl}/_status`).catch(() => undefined))?.status === 200, {
      timeoutMs: START_TIMEOUT_MS,
      what: () => `${site.baseUrl}/_status to answer 200\n${server.output()}`,
    });
  } catch (error) {
    await server.kill();
    throw error;
  }
  return server;
}

/** The test's environment minus anything that would point the server elsewhere, plus the site's settings. */
function serverEnvironment(site: ServerSite): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('OPENSPINE_') && name !== 'DATABASE_URL' && name !== 'NODE_TEST_CONTEXT' && name !== 'PORT');
  return {
    ...Object.fromEntries(inherited),
    PORT: String(site.port),
    OPENSPINE_DATA_DIR: site.dataDir,
    OPENSPINE_EMBEDDED_POSTGRES_PORT: String(site.postgresPort),
    OPENSPINE_SANDBOX: '1',
    OPENSPINE_LOG_LEVEL: 'warn',
  };
}

function wrap(child: ChildProcess): ServerProcess {
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const kill = async () => {
    if (!hasExited()) child.kill('SIGKILL');
    await exited;
  };
  return {
    output: () => output,
    kill,
    exitCode: () => child.exitCode,
    stop: async () => {
      if (hasExited()) return;
      child.kill('SIGTERM');
      await within(exited, STOP_TIMEOUT_MS, () => `OpenSpine to stop on SIGTERM\n${output}`).catch(async (error: unknown) => {
        await kill();
        throw error;
      });
    },
  };
}

function waitForBanner(child: ChildProcess, server: ServerProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`OpenSpine did not start within ${START_TIMEOUT_MS} ms\n${server.output()}`)), START_TIMEOUT_MS);
    const onData = () => {
      if (server.output().includes(READY_BANNER)) finish();
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(new Error(`OpenSpine exited (code ${code}, signal ${signal}) before it was ready\n${server.output()}`));
    const finish = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve();
    };
    const fail = (error: Error) => {
      finish();
      reject(error);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The promise's value, or a failure naming what it waited for once `timeoutMs` have passed. Leaves no timer behind. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  const patience = new AbortController();
  const timeout = delay(timeoutMs, undefined, { signal: patience.signal }).then(() => {
    throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what()}`);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    patience.abort();
  }
}

/** The pid in the first line of the cluster's postmaster.pid, if the file is there. */
function postmasterPid(pgData: string): number | undefined {
  const file = path.join(pgData, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The postmaster's pid, checked to be a process of this data folder (a stale pid file could name another). */
function livePostmaster(site: ServerSite): number {
  const pid = postmasterPid(site.pgData);
  if (pid === undefined || !clusterProcesses(site.pgData).includes(pid)) throw new Error(`no running postmaster in ${site.pgData}`);
  return pid;
}

/**
 * Kills the server with SIGKILL while its requests run, and its embedded PostgreSQL too unless
 * `database` is false; then stops the requests and gives what they saw. Requests are still in flight
 * as the server dies: SIGKILL is sent before kill() returns.
 */
export async function killWhileRequestsRun<T>(server: ServerProcess, site: ServerSite, requests: { stop(): Promise<T> }, options: { database?: boolean } = {}): Promise<T> {
  const postmaster = options.database === false ? undefined : livePostmaster(site);
  const serverGone = server.kill();
  if (postmaster !== undefined) killIfThere(postmaster);
  const outcome = await requests.stop();
  await serverGone;
  return outcome;
}

/**
 * Whether a process exists in the sense PostgreSQL's own lock-file check uses (kill(pid, 0)): a
 * killed process that its new parent has not reaped yet still counts.
 */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The live processes of the PostgreSQL cluster in `pgData`. Its backends and workers each start a
 * session of their own, so no process group holds them; all of them work in the data folder.
 */
export function clusterProcesses(pgData: string): number[] {
  if (!existsSync(pgData)) return [];
  const folder = realpathSync(pgData);
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readlinkSync(`/proc/${entry}/cwd`) === folder;
      } catch {
        return false; // gone meanwhile, or a zombie
      }
    })
    .map(Number);
}

/** Waits until the killed postmaster is reaped and every process of its cluster has exited. */
export async function waitForClusterGone(pgData: string, postmaster: number | undefined): Promise<void> {
  await waitFor(() => (postmaster === undefined || !processExists(postmaster)) && clusterProcesses(pgData).length === 0, {
    timeoutMs: STOP_TIMEOUT_MS,
    what: () => `the PostgreSQL of ${pgData} to be gone (postmaster ${postmaster}, still running: ${clusterProcesses(pgData).join(', ') || 'none'})`,
  });
}

/** Leaves nothing behind, whatever state a test stopped in: stops the server, kills its PostgreSQL, removes the folder. */
async function disposeSite(site: ServerSite, servers: ServerProcess[]): Promise<void> {
  for (const server of servers) await server.stop().catch(() => server.kill());
  for (const pid of clusterProcesses(site.pgData)) killIfThere(pid);
  await waitForClusterGone(site.pgData, undefined);
  await rm(site.dataDir, { recursive: true, force: true });
}

/** SIGKILL, ignoring a process that has exited meanwhile. */
function killIfThere(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
