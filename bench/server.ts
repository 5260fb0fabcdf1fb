// Starts OpenSpine as a child process on a fresh data folder (authenticated, not sandbox), gets
// an admin token and a GP's from its CLI, and stops it again (at the end, or on Ctrl-C): SIGTERM, wait, delete the folder.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../test/support/ports.ts';
import { DEMO_GP, type Caller } from './scenarios.ts';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPOSITORY, 'src/cli/main.ts');
const BANNER = /OpenSpine is running at (http:\/\/\S+)/;
const START_TIMEOUT_MS = 120_000;
/** Characters of the server's latest output kept to show why it exited. */
const OUTPUT_KEPT = 4096;
const LINES_SHOWN = 8;
const STOP_TIMEOUT_MS = 30_000;
/** Signals on which the bench stops the server before it exits (Ctrl-C, or a CI job's timeout). */
const INTERRUPTS = ['SIGINT', 'SIGTERM'] as const;
/** The longest token the CLI issues, so that no run outlives its token. */
const TOKEN_LIFETIME_SECONDS = 86_400;

export type BenchServer = {
  url: string;
  pid: number;
  /** A token of each kind of caller the scenarios send requests as. */
  tokens: Record<Caller, string>;
  dataDir: string;
  /** The server's environment: where its database is. */
  env: NodeJS.ProcessEnv;
  /** MESH's shared key for this run, the HMAC key of NHSMESH tokens (bench/mesh.ts). */
  meshSharedKey: string;
  /** Why the server exited, when it did so before stop() was called. */
  exitedEarly(): string | undefined;
  stop(): Promise<void>;
};

/** `unsecured`: sandbox mode with audit off, to measure what authentication and audit cost. */
/** `dataDir`: an existing data folder to start on (its data already loaded), kept afterwards; by default a fresh one, deleted. */
/** `postgresSettings`: extra settings of the embedded PostgreSQL (OPENSPINE_EMBEDDED_POSTGRES_SETTINGS). */
/** `cpuProfileDir`: where the server writes a V8 CPU profile (a .cpuprofile, for Chrome DevTools) when it stops. */
export async function startServer(options: { databaseUrl: string | undefined; logFile: string; unsecured: boolean; dataDir?: string; postgresSettings?: string; cpuProfileDir?: string }): Promise<BenchServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'openspine-bench-')));
  if (!options.dataDir) await chmod(dataDir, 0o755); // as root, the embedded PostgreSQL runs as `postgres`, who must enter it
  const meshSharedKey = randomBytes(16).toString('hex');
  const env = { ...(await serverEnvironment(dataDir, options.databaseUrl)), OPENSPINE_MESH_SHARED_KEY: meshSharedKey, ...(options.postgresSettings ? { OPENSPINE_EMBEDDED_POSTGRES_SETTINGS: options.postgresSettings } : {}), ...(options.unsecured ? { OPENSPINE_SANDBOX: 'on', OPENSPINE_AUDIT: 'off' } : {}) };
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...profiling, CLI, 'start'], {
    cwd: REPOSITORY,
    env,
    // Its own process group: a Ctrl-C reaches only the bench, which then stops the server once.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(options.logFile);
  let lastOutput = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log);
    stream.on('data', (chunk: Buffer) => (lastOutput = (lastOutput + chunk.toString()).slice(-OUTPUT_KEPT)));
  }
  let stopping = false;
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      const lastLines = lastOutput.trim().split('\n').slice(-LINES_SHOWN).join('\n  ');
      exitReason = `OpenSpine exited (${signal ?? `code ${code}`}); see ${options.logFile}, which ends:\n  ${lastLines}`;
      resolve();
    }),
  );

  // Once only: a second SIGTERM would make OpenSpine exit at once, leaving its PostgreSQL running.
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= (async () => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      if (child.exitCode !== 0) console.warn(`OpenSpine did not stop cleanly on SIGTERM (${child.signalCode ?? `exit code ${child.exitCode}`}); see ${options.logFile}`);
    }
    await stopOrphanedPostgres(dataDir);
    log.end();
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    running.delete(stop);
  })());
  running.add(stop);
  stopAllOnInterrupt();

  try {
    const url = await waitForBanner(child, exited, () => exitReason);
    await waitForStatus(url, options.unsecured);
    const tokens = { admin: await issueToken(env, ['--admin']), 'healthcare-worker': await issueToken(env, ['--user', DEMO_GP.userId, '--role', DEMO_GP.roleProfileId]) };
    return { url, pid: child.pid ?? 0, tokens, dataDir, env, meshSharedKey, exitedEarly: () => (stopping ? undefined : exitReason), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The stop of every server started and not yet stopped: an interrupt stops them all before the bench exits. */
const running = new Set<() => Promise<void>>();
let interruptHandled = false;

function stopAllOnInterrupt(): void {
  if (interruptHandled) return;
  interruptHandled = true;
  for (const signal of INTERRUPTS) {
    process.once(signal, (received: NodeJS.Signals) => {
      console.error(`\n${received}: stopping OpenSpine`);
      void Promise.allSettled([...running].map((stop) => stop())).finally(() => process.exit(received === 'SIGINT' ? 130 : 143));
    });
  }
}

/** The parent's environment without any OpenSpine setting, plus the bench's own. */
async function serverEnvironment(dataDir: string, databaseUrl: string | undefined): Promise<NodeJS.ProcessEnv> {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('OPENSPINE_') && name !== 'DATABASE_URL' && name !== 'PORT');
  return {
    ...Object.fromEntries(inherited),
    PORT: String(await freePort()),
    OPENSPINE_HOST: '127.0.0.1',
    OPENSPINE_DATA_DIR: dataDir,
    OPENSPINE_LOG_LEVEL: 'info',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { OPENSPINE_EMBEDDED_POSTGRES_PORT: String(await freePort()) }),
  };
}

function waitForBanner(child: ChildProcess, exited: Promise<void>, exitReason: () => string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`OpenSpine did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
      const url = BANNER.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(exitReason()));
    });
  });
}

/** Waits for `/_status` to pass, and makes sure the server authenticates requests (unless asked not to). */
async function waitForStatus(url: string, unsecured: boolean): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(`${url}/_status`).catch(() => undefined);
    if (response?.ok) {
      if ((await response.json() as { sandbox?: boolean }).sandbox !== unsecured) throw new Error(`OpenSpine started ${unsecured ? 'authenticated' : 'in sandbox mode'}, not as the bench asked`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}/_status did not answer 200`);
}

async function issueToken(env: NodeJS.ProcessEnv, caller: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'token', ...caller, '--lifetime', String(TOKEN_LIFETIME_SECONDS)], { cwd: REPOSITORY, env });
  const token = stdout.trim().split('\n').pop();
  if (!token) throw new Error('`openspine token` printed no token');
  return token;
}

/** An OpenSpine that was killed leaves its embedded PostgreSQL running: stop it (fast shutdown) before its folder goes. */
async function stopOrphanedPostgres(dataDir: string): Promise<void> {
  const pgData = path.join(dataDir, 'postgres');
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return; // stopped cleanly, or an external database
  }
  const running = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(pgData); // its -D argument: not a reused pid
    } catch {
      return false;
    }
  };
  if (running()) process.kill(pid, 'SIGINT');
  for (let waited = 0; running() && waited < STOP_TIMEOUT_MS; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
}
