// The counts of sign-in attempts, seen from the database: the wait given is that of the count that
// refuses, and a success is taken off the count from all addresses even while another attempt is
// being counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { attemptSignIn } from './sign-in-attempts.ts';

const { db } = await createTestDatabase();
const WRONG = 'The user ID or password is not right';
const countOf = async (account: string) => (await db<{ attempts: number }[]>`select attempts from identity_sign_in_attempt where account = ${account}`)[0]?.attempts;

test('refused by the count from all addresses alone, the wait is until that window ends, not a whole new one', async () => {
  const account = 'cis2:555000009901';
  await db`insert into identity_sign_in_attempt (account, attempts, window_started_at) values (${account}, 50, now() - interval '890 seconds')`;
  const refused = await attemptSignIn(db, { account, address: '10.9.9.9' }, WRONG, async () => 'signed in');
  assert.ok('retryAfterSeconds' in refused && refused.retryAfterSeconds !== undefined && refused.retryAfterSeconds <= 11, JSON.stringify(refused));
});

test('a success is taken off the count from all addresses even while another attempt is counted and not yet committed', async () => {
  const account = 'cis2:555000009902';
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let other: Promise<unknown> | undefined;
  const signedIn = await attemptSignIn(db, { account, address: '10.1.1.1' }, WRONG, async () => {
    let counted = (): void => undefined;
    const isCounted = new Promise<void>((resolve) => (counted = resolve));
    // Another address's attempt, counted while this one's password is checked.
    other = db.begin(async (tx) => {
      await tx`update identity_sign_in_attempt set attempts = attempts + 1 where account = ${account}`;
      counted();
      await held;
    });
    await isCounted;
    setTimeout(release, 300);
    return 'signed in';
  });
  await other;
  assert.deepEqual(signedIn, { found: 'signed in' });
  assert.equal(await countOf(account), 1, 'this attempt and the other, less this success');
});
