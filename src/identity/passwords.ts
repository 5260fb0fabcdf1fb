// Password hashes for the staff sign-in page: scrypt with a random salt, compared in constant time.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;
const KEY_LENGTH = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${(await derive(password, salt, KEY_LENGTH)).toString('base64url')}`;
}

/**
 * What a password is checked against when there is no account, or it has no password: the check
 * then takes as long as a real one, so the time of a refusal does not tell which accounts exist.
 */
const NO_PASSWORD = `scrypt$${randomBytes(16).toString('base64url')}$${randomBytes(KEY_LENGTH).toString('base64url')}`;

/** `stored`: the account's hash; undefined or null when there is no account or no password, which never matches. */
export async function passwordMatches(password: string, stored: string | null | undefined): Promise<boolean> {
  // A hash of ours: scrypt, a salt and KEY_LENGTH bytes. Anything else (an empty or short hash,
  // which any password would match) is checked as no password.
  const [scheme, storedSalt = '', storedHash = ''] = stored?.split('$') ?? [];
  const usable = scheme === 'scrypt' && stored?.split('$').length === 3 && storedSalt !== '' && Buffer.from(storedHash, 'base64url').length === KEY_LENGTH;
  const [, salt = '', hash = ''] = (usable ? (stored ?? '') : NO_PASSWORD).split('$');
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected) && usable;
}
