// Work gathered into one statement. Under load, dozens of requests each read a row by key, or write
// one, within the same turn of the event loop. Each statement costs OpenSpine a socket write that
// wakes a PostgreSQL backend (a fifth of its CPU on the machine of ../shared/performance.md), and
// PostgreSQL a round of its protocol and, for a write, a commit: one statement for all of them
// costs about as much as one.
import postgres from 'postgres';
import type { Database, Queryable } from './connect.ts';

/** Runs the items together, answering each in the order given; throws to fail them all. */
export type RunBatch<I, R> = (items: I[]) => Promise<R[]>;

type Waiting<I, R> = { item: I; resolve(result: R): void; reject(error: unknown): void };

/**
 * Calls made before the event loop's next check phase (setImmediate) are run together, `maxItems`
 * at a time. A failed run fails each of its calls, and only those.
 */
export function batched<I, R>(run: RunBatch<I, R>, maxItems = 500): (item: I) => Promise<R> {
  let waiting: Waiting<I, R>[] = [];

  const runGroup = (group: Waiting<I, R>[]): void => {
    run(group.map((call) => call.item)).then(
      (results) => group.forEach((call, index) => call.resolve(results[index] as R)),
      (error: unknown) => group.forEach((call) => call.reject(error)),
    );
  };

  const flush = (): void => {
    const all = waiting;
    waiting = [];
    for (let start = 0; start < all.length; start += maxItems) runGroup(all.slice(start, start + maxItems));
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (waiting.push({ item, resolve, reject }) === 1) setImmediate(flush);
    });
}

/** What one call of a batch came to: its result, or what it failed with. */
export type Settled<R> = { value: R } | { error: unknown };

/**
 * Calls run together as `batched` runs them, by `many` when there are several, which settles each
 * call; a call alone is run by `one`. Should PostgreSQL refuse the statement of `many` (so that it
 * did nothing), its calls are run again in two halves, one after the other, and so on down to a
 * call alone: a call the database refuses fails only itself, found in a few statements rather than
 * one per call, and the calls keep their order (of two that bring the same MESH nonce, the first
 * acts). Any other failure (the connection lost, say, when the statement may have committed) fails
 * the calls of that statement rather than run them twice.
 */
export function batchedEach<I, R>(many: (items: I[]) => Promise<Settled<R>[]>, one: (item: I) => Promise<R>, maxItems = 500): (item: I) => Promise<R> {
  const settle = async (items: I[]): Promise<Settled<R>[]> => {
    if (items.length === 1) return [await one(items[0] as I).then((value) => ({ value }), (error: unknown) => ({ error }))];
    try {
      return await many(items);
    } catch (error) {
      if (!(error instanceof postgres.PostgresError)) return items.map(() => ({ error }));
      const middle = Math.ceil(items.length / 2);
      const first = await settle(items.slice(0, middle));
      return [...first, ...(await settle(items.slice(middle)))];
    }
  };
  const call = batched<I, Settled<R>>(settle, maxItems);
  return async (item) => {
    const settled = await call(item);
    if ('error' in settled) throw settled.error;
    return settled.value;
  };
}

export type Lookup<V> = (key: string) => Promise<V | undefined>;

/** Fetches the rows of these distinct keys; a key without a row is left out of the map. */
export type FetchByKeys<V> = (keys: string[]) => Promise<Map<string, V>>;

/** A lookup by key, batched: callers of the same key in one batch share its row. */
export function coalescedLookup<V>(fetch: FetchByKeys<V>, maxKeys = 500): Lookup<V> {
  return batched<string, V | undefined>(async (keys) => {
    const rows = await fetch([...new Set(keys)]);
    return keys.map((key) => rows.get(key));
  }, maxKeys);
}

/** Made once for each database (pool) and kept as long as it is. */
export function perDatabase<T>(make: (db: Database) => T): (db: Database) => T {
  const made = new WeakMap<Database, T>();
  return (db) => {
    let value = made.get(db);
    if (value === undefined) made.set(db, (value = make(db)));
    return value;
  };
}

/** The pool itself, not a transaction: what a batched statement may run through. */
export function isPool(db: Queryable): db is Database {
  return !('savepoint' in db);
}
