// The database connection pool (the `postgres` client) and the settings every OpenSpine session uses.
import postgres from 'postgres';

export type Database = postgres.Sql;
export type Transaction = postgres.TransactionSql;
/** Either the pool or an open transaction: store functions accept both so callers choose the unit of work. */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export function connectDatabase(url: string, options: { max: number; applicationName?: string }): Database {
  const { url: address, ...socket } = splitSocket(url);
  return postgres(address, {
    ...socket,
    max: options.max,
    onnotice: () => undefined,
    connection: { application_name: options.applicationName ?? 'openspine' },
    // Values of bigint columns (version ids, counts) fit in a JS number for any realistic count.
    types: { bigint: postgres.BigInt },
    transform: { undefined: null },
  });
}

/**
 * libpq's way to name a Unix socket in a URL, `?host=/socket/folder` (psql and the other tools
 * read it), which the `postgres` client does not: it gets the URL without it, and the socket's path.
 */
export function splitSocket(url: string): { url: string; path?: string } {
  const parsed = new URL(url);
  const folder = parsed.searchParams.get('host');
  if (folder === null || !folder.startsWith('/')) return { url };
  parsed.searchParams.delete('host');
  return { url: parsed.toString(), path: `${folder}/.s.PGSQL.${parsed.port || DEFAULT_PORT}` };
}

const DEFAULT_PORT = '5432';
