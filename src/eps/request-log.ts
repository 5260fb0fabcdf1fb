// X-Request-ID de-duplication. fhir-prescribing.yaml and fhir-dispensing.yaml, header X-Request-ID:
// "This is used to de-duplicate repeated requests". An EPS write marks its X-Request-ID in the
// transaction of its change (markRequest, requestMark), so the change is made once however often
// the request is retried (after a timeout, a 503, a lost connection); the answer is kept once given,
// and a retry with the same X-Request-ID, from the same caller with the same body, gets it again.
// A request without an X-Request-ID (the sandbox allows that) is simply run.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { Database, Queryable } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';

export type RequestKey = { requestId: string; userId: string; interaction: string; bodySha256: string };
export type Answer = { status: number; response: unknown; patients: string[]; shortIds: string[] };

/** How long an answer is kept for retries: far beyond any client's retry window. */
export const REQUEST_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Seconds a retry is told to wait while the first request with its X-Request-ID is still being answered. */
const ANSWER_PENDING_RETRY_AFTER = 1;

const current = new AsyncLocalStorage<RequestKey>();

export function requestKey(requestId: string | string[] | undefined, userId: string, interaction: string, body: unknown): RequestKey | undefined {
  if (typeof requestId !== 'string') return undefined;
  return { requestId, userId, interaction, bodySha256: createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex') };
}

/** Runs an EPS write once per X-Request-ID: a retry gets the first answer, and changes nothing. */
export async function once(db: Database, key: RequestKey | undefined, write: () => Promise<Answer>): Promise<Answer> {
  if (!key) return write();
  let answer: Answer;
  try {
    answer = await current.run(key, write);
  } catch (error) {
    // A retry fails, changing nothing: on its mark, which the first one made in the same
    // transaction as its change, or earlier on the state that change left. The first one's answer
    // is the retry's too. (Not looked up before the write: that would cost every write a round trip.)
    const first = await findRequest(db, key.requestId);
    if (first) return replay(first, key);
    throw error;
  }
  await db`
    update eps_request set answered_at = now(), status = ${answer.status}, response = ${JSON.stringify(answer.response)}::text::json,
      patients = ${answer.patients}::text[], short_ids = ${answer.shortIds}::text[]
    where request_id = ${key.requestId}`;
  return answer;
}

/** In the transaction of a write's change: marks its X-Request-ID, so that a retry cannot make the change again. */
export async function markRequest(tx: Queryable): Promise<void> {
  await requestMark(tx);
}

/** The same as a statement to put in a WITH of the write's own statement; `onlyIf`, a condition on marking at all. */
export function requestMark(db: Queryable, onlyIf: postgres.PendingQuery<postgres.Row[]> = db``): postgres.PendingQuery<postgres.Row[]> {
  const key = current.getStore();
  if (!key) return db`select 1`;
  return db`
    insert into eps_request (request_id, user_id, interaction, body_sha256)
    select ${key.requestId}::uuid, ${key.userId}, ${key.interaction}, ${key.bodySha256} ${onlyIf}`;
}

/** Forgets requests older than the retention (the EPS sweep calls it); returns how many. */
export async function forgetOldRequests(db: Queryable, now: Date): Promise<number> {
  const forgotten = await db`delete from eps_request where created_at < ${new Date(now.getTime() - REQUEST_RETENTION_MS)}`;
  return forgotten.count;
}

type RequestRow = { user_id: string; interaction: string; body_sha256: string; answered_at: Date | null; status: number | null; response: unknown; patients: string[] | null; short_ids: string[] | null };

async function findRequest(db: Database, requestId: string): Promise<RequestRow | undefined> {
  const [row] = await db<RequestRow[]>`
    select user_id, interaction, body_sha256, answered_at, status, response, patients, short_ids from eps_request where request_id = ${requestId}`;
  return row;
}

function replay(row: RequestRow, key: RequestKey): Answer {
  if (row.user_id !== key.userId || row.interaction !== key.interaction || row.body_sha256 !== key.bodySha256) {
    throw Errors.invalidValue(`Invalid value - '${key.requestId}' in header 'X-Request-ID': it was used for a different request; each new request needs a new X-Request-ID`, 'X-Request-ID');
  }
  if (row.answered_at === null || row.status === null) {
    throw Errors.unavailable(`The request with X-Request-ID '${key.requestId}' is still being answered; its change is made once: retry for its answer`, ANSWER_PENDING_RETRY_AFTER);
  }
  return { status: row.status, response: row.response, patients: row.patients ?? [], shortIds: row.short_ids ?? [] };
}
