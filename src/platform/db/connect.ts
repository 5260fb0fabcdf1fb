// The database connection pool (the `postgres` client) and the settings every OpenSpine session uses.
import postgres from 'postgres';

export type Database = postgres.Sql;
export type Transaction = postgres.TransactionSql;
/** Either the pool or an open transaction: store functions accept both so callers choose the unit of work. */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export function connectDatabase(url: string, options: { max: number; applicationName?: string }): Database {
  return postgres(url, {
    max: options.max,
    onnotice: () => undefined,
    connection: { application_name: options.applicationName ?? 'openspine' },
    // Values of bigint columns (version ids, counts) fit in a JS number for any realistic count.
    types: { bigint: postgres.BigInt },
    transform: { undefined: null },
  });
}
