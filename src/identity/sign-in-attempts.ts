// Password guessing at the sign-in pages is stopped: an account takes at most SIGN_IN_ATTEMPTS's
// maxAttempts password attempts in a window of its windowSeconds, the right password included,
// until a sign-in succeeds.
// Each attempt is counted before its password is checked, in one statement, so attempts made at
// once by many connections or processes cannot slip past the count. Unknown accounts are counted
// too, so that the answers do not tell which accounts exist. Each attempt also deletes a few rows
// whose window has ended, so that what anyone can make the table hold is what a window's attempts
// add, not all there ever were.
import type { Database } from '../platform/db/connect.ts';

const SIGN_IN_ATTEMPTS = { maxAttempts: 5, windowSeconds: 900 } as const;
/** Rows of ended windows each attempt deletes: more than one, so that a backlog shrinks. */
const EXPIRED_ROWS_DELETED = 10;
/**
 * Longer than any account's name as typed (an email address has at most 254 characters): such a
 * name is no account, and is refused unchecked and uncounted (an index holds keys of at most 2.7 kB).
 */
const MAX_ACCOUNT_LENGTH = 320;

type SignInAttempt = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A password attempt at `account` (e.g. 'cis2:555000000001'): `check` finds the account and checks
 * its password (undefined when either fails), unless the account is out of attempts. What it found
 * is returned, or the page's error: `wrong` for a failed check, or the wait when out of attempts.
 */
export async function attemptSignIn<T>(db: Database, account: string, wrong: string, check: () => Promise<T | undefined>): Promise<{ found: T } | { error: string; retryAfterSeconds?: number }> {
  if (account.length > MAX_ACCOUNT_LENGTH) return { error: wrong };
  const attempt = await takeSignInAttempt(db, account);
  if (!attempt.allowed) return { error: tooManyAttempts(attempt.retryAfterSeconds), retryAfterSeconds: attempt.retryAfterSeconds };
  const found = await check();
  if (found === undefined) return { error: wrong };
  await clearSignInAttempts(db, account);
  return { found };
}

/** Counts an attempt at `account`; refused past the most a window allows. */
async function takeSignInAttempt(db: Database, account: string): Promise<SignInAttempt> {
  const window = SIGN_IN_ATTEMPTS.windowSeconds;
  const [row] = await db<{ attempts: number; seconds_left: number }[]>`
    with expired as (
      delete from identity_sign_in_attempt where account in (
        select account from identity_sign_in_attempt
        where window_started_at <= now() - make_interval(secs => ${window}) and account <> ${account}
        order by window_started_at limit ${EXPIRED_ROWS_DELETED} for update skip locked)
    )
    insert into identity_sign_in_attempt as taken (account, attempts, window_started_at)
    values (${account}, 1, now())
    on conflict (account) do update set
      attempts = case when taken.window_started_at > now() - make_interval(secs => ${window}) then taken.attempts + 1 else 1 end,
      window_started_at = case when taken.window_started_at > now() - make_interval(secs => ${window}) then taken.window_started_at else now() end
    returning attempts, greatest(1, ceil(extract(epoch from window_started_at + make_interval(secs => ${window}) - now())))::int as seconds_left`;
  if (!row || row.attempts <= SIGN_IN_ATTEMPTS.maxAttempts) return { allowed: true };
  return { allowed: false, retryAfterSeconds: row.seconds_left };
}

/** A sign-in succeeded: its account's attempts start again. */
async function clearSignInAttempts(db: Database, account: string): Promise<void> {
  await db`delete from identity_sign_in_attempt where account = ${account}`;
}

/** What the sign-in page says to an account out of attempts. */
function tooManyAttempts(retryAfterSeconds: number): string {
  return `Too many attempts to sign in to this account: try again in ${Math.ceil(retryAfterSeconds / 60)} minutes`;
}
