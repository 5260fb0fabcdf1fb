// Transactions that cost one round trip fewer than the client's own. `sql.begin` of the `postgres`
// client waits for PostgreSQL to answer BEGIN before it runs the first statement: a round trip of
// its own, which on a busy two-core machine costs about as much as a short statement. Here BEGIN
// goes in the same socket write as the transaction's first statements (the client writes what is
// queued on a connection in one turn together), and its answer is read with theirs.
import type { Database, Transaction } from './connect.ts';

/**
 * Runs the work in a transaction on a connection of its own: committed when the work resolves,
 * rolled back when it rejects. What the work runs must be on the `tx` it is given, as with
 * `sql.begin`.
 */
export async function transaction<T>(db: Database, work: (tx: Transaction) => Promise<T>): Promise<T> {
  const connection = await db.reserve();
  try {
    const begun = connection`begin`.execute();
    // Seen here too, so that a work that fails first never leaves BEGIN's failure unhandled.
    begun.catch(() => undefined);
    let result: T;
    try {
      result = await work(connection);
      await begun;
    } catch (error) {
      // ROLLBACK after a failed BEGIN is harmless; after a lost connection it fails too, and the
      // server has already rolled back.
      await connection`rollback`.catch(() => undefined);
      throw error;
    }
    await connection`commit`;
    return result;
  } finally {
    connection.release();
  }
}
