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
import type postgres from 'postgres';
import type { Database } from '../platform/db/connect.ts';
import { hasControlCharacter } from '../platform/text.ts';

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
  // A control character is in no account's name, so it can part a name from an address (below).
  if (attempt.account.length > MAX_ACCOUNT_LENGTH || hasControlCharacter(attempt.account)) return { error: wrong };
  const counters = { account: attempt.account, fromAddress: `${attempt.account}\n${attempt.address}` };
  const taken = await takeSignInAttempt(db, counters);
  if (!taken.allowed) return { error: tooManyAttempts(taken.retryAfterSeconds), retryAfterSeconds: taken.retryAfterSeconds };
  const found = await check();
  if (found === undefined) return { error: wrong };
  await signedIn(db, counters);
  return { found };
}

/**
 * Counts an attempt at the account from its address, and, unless that refuses it, from any address:
 * an address already held back adds nothing to the account's count, so one guesser cannot spend
 * the allowance of the account's owner elsewhere. Refused past the most a window allows of either.
 */
async function takeSignInAttempt(db: Database, counters: { account: string; fromAddress: string }): Promise<SignInAttempt> {
  const window = SIGN_IN_ATTEMPTS.windowSeconds;
  const keys = [counters.account, counters.fromAddress];
  const [row] = await db<{ from_address: number; address_seconds_left: number; from_any: number | null; any_seconds_left: number | null }[]>`
    with expired as (
      delete from identity_sign_in_attempt where account in (
        select account from identity_sign_in_attempt
        where window_started_at <= now() - make_interval(secs => ${window}) and account <> all(${keys}::text[])
        order by window_started_at limit ${EXPIRED_ROWS_DELETED} for update skip locked)
    ), from_address as (
      ${countedAttempt(db, db`values (${counters.fromAddress}, 1, now())`, window)}
    ), from_any as (
      ${countedAttempt(db, db`select ${counters.account}, 1, now() from from_address where attempts <= ${SIGN_IN_ATTEMPTS.fromOneAddress}`, window)}
    )
    select a.attempts as from_address, a.seconds_left as address_seconds_left, b.attempts as from_any, b.seconds_left as any_seconds_left
    from from_address a left join from_any b on true`;
  if (!row) return { allowed: false, retryAfterSeconds: SIGN_IN_ATTEMPTS.windowSeconds };
  // The wait is that of the counts that refuse: until each of their windows ends.
  const waits = [
    ...(row.from_address > SIGN_IN_ATTEMPTS.fromOneAddress ? [row.address_seconds_left] : []),
    ...(row.from_any !== null && row.from_any > SIGN_IN_ATTEMPTS.fromAnyAddress ? [row.any_seconds_left ?? SIGN_IN_ATTEMPTS.windowSeconds] : []),
  ];
  return waits.length === 0 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(...waits) };
}

/** The upsert of one counter, from the row `given` gives: one more attempt in its window, or the first of a new one. */
function countedAttempt(db: Database, given: postgres.PendingQuery<postgres.Row[]>, window: number) {
  return db`
    insert into identity_sign_in_attempt as taken (account, attempts, window_started_at) ${given}
    on conflict (account) do update set
      attempts = case when taken.window_started_at > now() - make_interval(secs => ${window}) then taken.attempts + 1 else 1 end,
      window_started_at = case when taken.window_started_at > now() - make_interval(secs => ${window}) then taken.window_started_at else now() end
    returning attempts, greatest(1, ceil(extract(epoch from window_started_at + make_interval(secs => ${window}) - now())))::int as seconds_left`;
}

/**
 * A sign-in succeeded: the attempts from its address start again, and it is taken off the
 * account's count from any address, which is of guesses. That count otherwise runs to the end of
 * its window: clearing it would give a guesser elsewhere a new allowance at each sign-in.
 */
async function signedIn(db: Database, counters: { account: string; fromAddress: string }): Promise<void> {
  await db.begin(async (tx) => {
    await tx`delete from identity_sign_in_attempt where account = ${counters.fromAddress}`;
    // Locked, so that an attempt counted meanwhile is seen: the count is one less than it is now.
    const [row] = await tx<{ attempts: number }[]>`select attempts from identity_sign_in_attempt where account = ${counters.account} for update`;
    if (row?.attempts === 1) await tx`delete from identity_sign_in_attempt where account = ${counters.account}`;
    else if (row) await tx`update identity_sign_in_attempt set attempts = attempts - 1 where account = ${counters.account}`;
  });
}

/** What the sign-in page says to an account out of attempts. */
function tooManyAttempts(retryAfterSeconds: number): string {
  return `Too many attempts to sign in to this account: try again in ${Math.ceil(retryAfterSeconds / 60)} minutes`;
}
