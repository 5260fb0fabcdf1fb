// `npm run bench -- <scenario> --statements`: what a scenario asks of PostgreSQL, from
// pg_stat_statements over the measured run: statements (round trips) and commits per unit of work
// (request, message, lifecycle), and the statements that take the most time. Unlike req/s, these
// counts do not move with the load on a shared machine, so a change that saves round trips shows.
import { pino } from 'pino';
import { connectDatabase, type Database } from '../src/platform/db/connect.ts';
import { openEmbeddedPostgres } from '../src/platform/db/embedded.ts';
import type { BenchServer } from './server.ts';

/** Given to the embedded PostgreSQL (OPENSPINE_EMBEDDED_POSTGRES_SETTINGS) when --statements is asked for. */
export const STATEMENTS_SETTINGS = 'shared_preload_libraries=pg_stat_statements';
const STATEMENTS_SHOWN = 12;
const QUERY_CHARACTERS = 110;

export type StatementsProbe = {
  /** Forgets what came before: called as the measured run starts. */
  reset(): Promise<void>;
  /** Report lines for what happened since reset, `units` being the run's requests, messages or lifecycles. */
  report(units: number, unit: string): Promise<string[]>;
  close(): Promise<void>;
};

/** Attaches to the server's database: its embedded PostgreSQL, or `databaseUrl` (where pg_stat_statements must be loaded). */
export async function openStatementsProbe(server: BenchServer, databaseUrl: string | undefined): Promise<StatementsProbe> {
  const url = databaseUrl ?? (await openEmbeddedPostgres({ dataDir: server.dataDir, port: 0, log: pino({ level: 'silent' }), role: 'tool' })).url('openspine');
  const db = connectDatabase(url, { max: 1, applicationName: 'openspine-bench-statements' });
  try {
    await db`create extension if not exists pg_stat_statements`;
    await db`select pg_stat_statements_reset()`;
  } catch (error) {
    await db.end();
    throw new Error(`--statements needs pg_stat_statements in shared_preload_libraries: ${(error as Error).message}`, { cause: error });
  }
  let commitsAtReset = 0;
  return {
    async reset() {
      await db`select pg_stat_statements_reset()`;
      commitsAtReset = await commits(db);
    },
    async report(units, unit) {
      const committed = (await commits(db)) - commitsAtReset;
      const rows = await db<{ calls: bigint; total_ms: number; query: string }[]>`
        select calls, total_exec_time as total_ms, query from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database()) and query not like '%pg_stat_statements%'
        order by total_exec_time desc`;
      const calls = rows.reduce((sum, row) => sum + Number(row.calls), 0);
      const perUnit = (count: number) => (units > 0 ? count / units : 0).toFixed(2);
      return [
        `  PostgreSQL per ${unit}: ${perUnit(calls)} statements, ${perUnit(committed)} transactions (pg_stat_statements over the measured run, ${units} ${unit}s)`,
        `  ${'per ' + unit} ${'µs each'.padStart(9)}  statement (the ${STATEMENTS_SHOWN} taking the most time)`,
        ...rows.slice(0, STATEMENTS_SHOWN).map((row) => {
          const each = Number(row.calls) > 0 ? (1000 * row.total_ms) / Number(row.calls) : 0;
          return `  ${perUnit(Number(row.calls)).padStart(4 + unit.length)} ${each.toFixed(0).padStart(9)}  ${row.query.replace(/\s+/g, ' ').slice(0, QUERY_CHARACTERS)}`;
        }),
      ];
    },
    close: () => db.end(),
  };
}

/** Transactions committed in this database (every statement outside a transaction is one). */
async function commits(db: Database): Promise<number> {
  const [row] = await db<{ commits: bigint }[]>`select xact_commit as commits from pg_stat_database where datname = current_database()`;
  return Number(row?.commits ?? 0);
}
