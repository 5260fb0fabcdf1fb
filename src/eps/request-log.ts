// X-Request-ID de-duplication. fhir-prescribing.yaml and fhir-dispensing.yaml, header X-Request-ID:
// "This is used to de-duplicate repeated requests". An EPS write records its X-Request-ID and its
// answer in the transaction of its change (markRequest, requestMark), so the change is made once
// however often the request is retried (after a timeout, a 503, a lost connection), and a retry
// with the same X-Request-ID, from the same caller with the same body, gets the same answer. A
// request without an X-Request-ID (the sandbox allows that) is simply run.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { Database, Queryable } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';

export type RequestKey = { requestId: string; userId: string; interaction: string; bodySha256: string };
export type Answer = {
  status: number;
  response: unknown;
  patients: string[];
  shortIds: string[];
  /** Kept for retries instead of `response`, when that is large and can be rebuilt from it (once's `rebuild`). */
  kept?: unknown;
};

/** Rebuilds a response from what its write kept (Answer.kept). */
export type Rebuild = (kept: unknown) => Promise<unknown>;

/** How long an answer is kept for retries: far beyond any client's retry window. */
export const REQUEST_RETENTION_MS = 24 * 60 * 60 * 1000;

const current = new AsyncLocalStorage<RequestKey>();

export function requestKey(requestId: string | string[] | undefined, userId: string, interaction: string, body: unknown): RequestKey | undefined {
  if (typeof requestId !== 'string') return undefined;
  return { requestId, userId, interaction, bodySha256: createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex') };
}

/** Runs an EPS write once per X-Request-ID: a retry gets the first answer, and changes nothing. */
export async function once(db: Database, key: RequestKey | undefined, write: () => Promise<Answer>, rebuild?: Rebuild): Promise<Answer> {
  if (!key) return write();
  try {
    return await current.run(key, write);
  } catch (error) {
    // A retry fails, changing nothing: on the record of its X-Request-ID, which the first one made
    // in the transaction of its change, or earlier on the state that change left. The first one's
    // answer is the retry's too. (Not looked up before the write: that would cost every write a
    // round trip.)
    const first = await findRequest(db, key.requestId);
    if (first) return replay(first, key, rebuild);
    throw error;
  }
}

/**
 * In the transaction of a write's change: records its X-Request-ID with the answer the write gives,
 * so that a retry cannot make the change again and gets that answer. A retry fails here, on the
 * primary key, if it got this far.
 */
export async function markRequest(tx: Queryable, answer: Answer): Promise<void> {
  await requestMark(tx, answer);
}

/** The same as a statement to put in a WITH of the write's own statement; `onlyIf`, a condition on recording it at all. */
export function requestMark(db: Queryable, answer: Answer, onlyIf: postgres.PendingQuery<postgres.Row[]> = db``): postgres.PendingQuery<postgres.Row[]> {
  const key = current.getStore();
  if (!key) return db`select 1`;
  return db`
    insert into eps_request (request_id, user_id, interaction, body_sha256, answered_at, status, response, kept, patients, short_ids)
    select ${key.requestId}::uuid, ${key.userId}, ${key.interaction}, ${key.bodySha256}, now(), ${answer.status},
      ${JSON.stringify(answer.kept ?? answer.response)}::text::json, ${answer.kept !== undefined}, ${answer.patients}::text[], ${answer.shortIds}::text[] ${onlyIf}`;
}

/** Forgets requests older than the retention (the EPS sweep calls it); returns how many. */
export async function forgetOldRequests(db: Queryable, now: Date): Promise<number> {
  const forgotten = await db`delete from eps_request where created_at < ${new Date(now.getTime() - REQUEST_RETENTION_MS)}`;
  return forgotten.count;
}

type RequestRow = { user_id: string; interaction: string; body_sha256: string; status: number; response: unknown; kept: boolean; patients: string[]; short_ids: string[] };

async function findRequest(db: Database, requestId: string): Promise<RequestRow | undefined> {
  const [row] = await db<RequestRow[]>`
    select user_id, interaction, body_sha256, status, response, kept, patients, short_ids from eps_request where request_id = ${requestId}`;
  return row;
}

async function replay(row: RequestRow, key: RequestKey, rebuild: Rebuild | undefined): Promise<Answer> {
  if (row.user_id !== key.userId || row.interaction !== key.interaction || row.body_sha256 !== key.bodySha256) {
    throw Errors.invalidValue(`Invalid value - '${key.requestId}' in header 'X-Request-ID': it was used for a different request; each new request needs a new X-Request-ID`, 'X-Request-ID');
  }
  if (row.kept && !rebuild) throw new Error(`The answer to X-Request-ID ${key.requestId} (${key.interaction}) was kept to be rebuilt, and nothing rebuilds it`);
  const response = row.kept && rebuild ? await rebuild(row.response) : row.response;
  return { status: row.status, response, patients: row.patients, shortIds: row.short_ids };
}
