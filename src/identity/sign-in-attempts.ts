// Password guessing at the sign-in pages is stopped: an account takes at most SIGN_IN_ATTEMPTS's
// fromOneAddress password attempts from one client address in a window of its windowSeconds, the
// right password included, until a sign-in from there succeeds; and at most fromAnyAddress from
// all addresses together, so that guesses spread over many addresses stay few too. Counting by
// address as well keeps someone who knows a user id from locking its owner out: their five wrong
// attempts hold back their own address, not the owner's workstation (behind a balancer, name it in
// OPENSPINE_TRUSTED_PROXIES, or every client has its address).
// Each attempt is counted before its password is checked, in one statement, so attempts made at
// once by many connections or processes cannot slip past the count. Unknown accounts are counted
// too, so that the answers do not tell which accounts exist. Each attempt also deletes a few rows
// whose window has ended, so that what anyone can make the table hold is what a window's attempts
// add, not all there ever were.
import type { Database } from '../platform/db/connect.ts';

const SIGN_IN_ATTEMPTS = { fromOneAddress: 5, fromAnyAddress: 50, windowSeconds: 900 } as const;
/** Rows of ended windows each attempt deletes: more than one, so that a backlog shrinks. */
const EXPIRED_ROWS_DELETED = 10;
/**
 * Longer than any account's name as typed (an email address has at most 254 characters): such a
 * name is no account, and is refused unchecked and uncounted (an index holds keys of at most 2.7 kB).
 */
const MAX_ACCOUNT_LENGTH = 320;

type SignInAttempt = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A password attempt at `account` (e.g. 'cis2:555000000001') from the client `address`: `check`
 * finds the account and checks its password (undefined when either fails), unless the account is
 * out of attempts. What it found is returned, or the page's error: `wrong` for a failed check, or
 * the wait when out of attempts.
 */
export async function attemptSignIn<T>(db: Database, attempt: { account: string; address: string }, wrong: string, check: () => Promise<T | undefined>): Promise<{ found: T } | { error: string; retryAfterSeconds?: number }> {
  if (attempt.account.length > MAX_ACCOUNT_LENGTH) return { error: wrong };
  const counters = { account: attempt.account, fromAddress: `${attempt.account} from ${attempt.address}` };
  const taken = await takeSignInAttempt(db, counters);
  if (!taken.allowed) return { error: tooManyAttempts(taken.retryAfterSeconds), retryAfterSeconds: taken.retryAfterSeconds };
  const found = await check();
  if (found === undefined) return { error: wrong };
  await clearSignInAttempts(db, counters.fromAddress);
  return { found };
}

/** Counts an attempt at the account, from its address and from any; refused past the most a window allows of either. */
async function takeSignInAttempt(db: Database, counters: { account: string; fromAddress: string }): Promise<SignInAttempt> {
  const window = SIGN_IN_ATTEMPTS.windowSeconds;
  const keys = [counters.account, counters.fromAddress];
  const rows = await db<{ account: string; attempts: number; seconds_left: number }[]>`
    with expired as (
      delete from identity_sign_in_attempt where account in (
        select account from identity_sign_in_attempt
        where window_started_at <= now() - make_interval(secs => ${window}) and account <> all(${keys}::text[])
        order by window_started_at limit ${EXPIRED_ROWS_DELETED} for update skip locked)
    )
    insert into identity_sign_in_attempt as taken (account, attempts, window_started_at)
    values (${counters.account}, 1, now()), (${counters.fromAddress}, 1, now())
    on conflict (account) do update set
      attempts = case when taken.window_started_at > now() - make_interval(secs => ${window}) then taken.attempts + 1 else 1 end,
      window_started_at = case when taken.window_started_at > now() - make_interval(secs => ${window}) then taken.window_started_at else now() end
    returning account, attempts, greatest(1, ceil(extract(epoch from window_started_at + make_interval(secs => ${window}) - now())))::int as seconds_left`;
  const over = rows.filter((row) => row.attempts > (row.account === counters.account ? SIGN_IN_ATTEMPTS.fromAnyAddress : SIGN_IN_ATTEMPTS.fromOneAddress));
  if (over.length === 0) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(...over.map((row) => row.seconds_left)) };
}

/**
 * A sign-in succeeded: the attempts from its address start again. Those from any address run to
 * the end of their window, or a guesser elsewhere would be given a new allowance by each sign-in.
 */
async function clearSignInAttempts(db: Database, fromAddress: string): Promise<void> {
  await db`delete from identity_sign_in_attempt where account = ${fromAddress}`;
}

/** What the sign-in page says to an account out of attempts. */
function tooManyAttempts(retryAfterSeconds: number): string {
  return `Too many attempts to sign in to this account: try again in ${Math.ceil(retryAfterSeconds / 60)} minutes`;
}
