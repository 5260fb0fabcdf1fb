// Passwords are checked against their scrypt hash; with no account, no password or a hash that is
// not one of ours, the check is made against a stand-in (as long as a real one) and never matches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, passwordMatches } from './passwords.ts';

test('the right password matches its hash; a wrong one, or no hash to match, never does', async () => {
  const stored = await hashPassword('correct horse');
  assert.equal(await passwordMatches('correct horse', stored), true);
  assert.equal(await passwordMatches('wrong horse', stored), false);
  for (const none of [undefined, null, '', 'scrypt$', 'scrypt$$', 'scrypt$abc$', 'scrypt$salt$!', 'md5$abc$def', 'scrypt$a$b$c', stored.slice(0, -4)]) {
    assert.equal(await passwordMatches('correct horse', none), false, String(none));
    assert.equal(await passwordMatches('', none), false, String(none));
  }
});
