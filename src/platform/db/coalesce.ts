// Reads by key gathered into one statement. Under load, dozens of requests read one row each by
// key within the same turn of the event loop. Each statement costs OpenSpine a socket write that
// wakes a PostgreSQL backend (a fifth of its CPU on the machine of ../shared/performance.md), and
// PostgreSQL a round of its protocol: one statement for all of them costs about as much as one.

import type { Database, Queryable } from './connect.ts';

export type Lookup<V> = (key: string) => Promise<V | undefined>;

/** Fetches the rows of these keys (distinct, at most `maxKeys`); a key without a row is left out of the map. */
export type FetchByKeys<V> = (keys: string[]) => Promise<Map<string, V>>;

type Waiter<V> = { resolve(value: V | undefined): void; reject(error: unknown): void };

/**
 * A lookup whose calls made before the event loop's next check phase (setImmediate) are fetched
 * together, `maxKeys` at a time. Callers of the same key share its row; a failed fetch fails each
 * of its callers.
 */
export function coalescedLookup<V>(fetch: FetchByKeys<V>, maxKeys = 500): Lookup<V> {
  let waiting = new Map<string, Waiter<V>[]>();
  let scheduled = false;

  const fetchGroup = (group: Map<string, Waiter<V>[]>): void => {
    fetch([...group.keys()]).then(
      (rows) => {
        for (const [key, waiters] of group) for (const waiter of waiters) waiter.resolve(rows.get(key));
      },
      (error: unknown) => {
        for (const waiters of group.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  };

  const flush = (): void => {
    scheduled = false;
    const all = waiting;
    waiting = new Map();
    let group = new Map<string, Waiter<V>[]>();
    for (const [key, waiters] of all) {
      group.set(key, waiters);
      if (group.size === maxKeys) {
        fetchGroup(group);
        group = new Map();
      }
    }
    if (group.size > 0) fetchGroup(group);
  };

  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      const waiters = waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else waiting.set(key, [{ resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
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

/** The pool itself, not a transaction: what a coalesced lookup may read through. */
export function isPool(db: Queryable): db is Database {
  return !('savepoint' in db);
}
