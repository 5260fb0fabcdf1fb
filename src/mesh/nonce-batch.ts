// MESH calls of one kind, from any mailboxes, written as one statement (platform/db/coalesce.ts):
// at a thousand messages a second each call's own statement cost OpenSpine a socket write and
// PostgreSQL a round of its protocol and a commit, more than the call's work. Each call brings its
// token's nonce, which the batch records as used with it: a nonce used before refuses its own
// call, as a replay, and the batch goes on without that call (authenticate.ts, PendingNonce).
import type postgres from 'postgres';
import type { Database } from '../platform/db/connect.ts';
import { batchedEach, type Settled } from '../platform/db/coalesce.ts';
import { NonceUsedBefore, type UsedNonce } from './directory-store.ts';

/** A call of a batch: what it asks, and its token's nonce (undefined when recorded already). */
export type NonceCall = { nonce: UsedNonce | undefined };

/** What a batch's statement gives for each call, in the calls' order: its place and whether its nonce was used before. */
export type CallRow = { ord: number; replayed: boolean };

/** The columns of a batch's `input` (jsonb_to_recordset of callsInput) before the call's own: its place and nonce. */
export const nonceColumns = (db: Database) => db`ord int, n_mailbox text, n_nonce text, n_count text, n_expires timestamptz`;

/** A batch's calls as the JSON rows of its `input` (a jsonb parameter): each its place, nonce and the fields `fields` gives. */
export function callsInput<C extends NonceCall>(db: Database, calls: C[], fields: (call: C) => Record<string, postgres.JSONValue>) {
  return db.json(calls.map((call, ord) => ({
    ord, n_mailbox: call.nonce?.mailboxId ?? null, n_nonce: call.nonce?.nonce ?? null, n_count: call.nonce?.nonceCount ?? null, n_expires: call.nonce?.expiresAt ?? null, ...fields(call),
  })));
}

/**
 * WITH items after a batch's `input`: `used` records the nonces not used before, and `fresh` is the
 * input of the calls whose nonce that was, or that brought none: only those may act.
 */
export const freshCalls = (db: Database) => db`
  used as (
    insert into mesh_auth_nonce (mailbox_id, nonce, nonce_count, expires_at)
    select n_mailbox, n_nonce, n_count, n_expires from input where n_nonce is not null
    -- In key order: two batches that carry the same nonces (replays) never wait on each other in a circle.
    order by n_mailbox, n_nonce, n_count
    on conflict do nothing
    returning mailbox_id, nonce, nonce_count),
  fresh as (
    select * from input i
    where i.n_nonce is null or exists (select 1 from used u where u.mailbox_id = i.n_mailbox and u.nonce = i.n_nonce and u.nonce_count = i.n_count))`;

/** The first columns of a batch's answer, a row for each call of `input i` (CallRow). */
export const callOutcome = (db: Database) => db`i.ord, not exists (select 1 from fresh f where f.ord = i.ord) as replayed`;

/**
 * Calls made together run as one statement, `many`, which answers a row for each (CallRow) that
 * `result` reads; a call alone runs the same statement for itself, so that each kind of call has
 * one SQL whatever the load. A call whose nonce an earlier call of the same batch brings is a
 * replay, refused before the statement. At most `maxCalls` go into one statement (500 by default).
 */
export function nonceBatched<C extends NonceCall, R, Row extends CallRow>(
  many: (calls: C[]) => Promise<Row[]>,
  result: (row: Row) => R,
  maxCalls?: number,
): (call: C) => Promise<R> {
  const settle = (row: Row): Settled<R> => (row.replayed ? { error: new NonceUsedBefore() } : { value: result(row) });
  const alone = async (call: C): Promise<R> => {
    const [row] = await many([call]);
    if (row === undefined) throw new Error('A MESH batch statement did not answer its call');
    const settled = settle(row);
    if ('error' in settled) throw settled.error;
    return settled.value;
  };
  return batchedEach<C, R>(async (calls) => {
    const settled: Settled<R>[] = [];
    const seen = new Set<string>();
    const batch: C[] = [];
    const places: number[] = [];
    calls.forEach((call, index) => {
      const key = call.nonce && `${call.nonce.mailboxId}\n${call.nonce.nonce}\n${call.nonce.nonceCount}`;
      if (key !== undefined && seen.has(key)) {
        settled[index] = { error: new NonceUsedBefore() };
        return;
      }
      if (key !== undefined) seen.add(key);
      places.push(index);
      batch.push(call);
    });
    for (const row of await many(batch)) settled[places[row.ord] as number] = settle(row);
    if (settled.length !== calls.length || settled.includes(undefined as never)) throw new Error('A MESH batch statement did not answer every call');
    return settled;
  }, alone, maxCalls);
}
