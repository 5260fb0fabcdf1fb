// The NHSMESH authorization header: its format, its HMAC, and the checks a token must pass
// (../shared/specs/mesh/specification/mesh-api.yaml, "MESH Authorization header"):
// `NHSMESH <mailbox_id>:<nonce>:<nonce_count>:<yyyyMMddHHmm>:<hex HMAC-SHA256(shared key,
// "mailbox_id:nonce:nonce_count:password:timestamp")>`, and the client certificate's name that
// must go with it over mutual TLS. Plain functions: no database, no HTTP.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { MeshErrors } from './errors.ts';

export type MeshToken = { mailboxId: string; nonce: string; nonceCount: string; timestamp: string; hash: string };

/** The spec: "the API rejects the request if the timestamp supplied is not within 2 hours of the server time". */
export const TOKEN_WINDOW_MS = 2 * 60 * 60 * 1000;
/** Longest nonce kept (the spec's is a GUID, 36 characters); longer ones are refused, not stored. */
const MAX_NONCE_LENGTH = 128;
const TIMESTAMP = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** The token in an Authorization header, or undefined when it is not one (any refusal is a 403). */
export function parseMeshToken(header: string | undefined): MeshToken | undefined {
  if (header === undefined) return undefined;
  // "There is a space after NHSMESH and no colon before the mailbox ID."
  const match = /^NHSMESH (.*)$/.exec(header.trim());
  const parts = match?.[1]?.split(':');
  if (parts?.length !== 5) return undefined;
  const [mailboxId = '', nonce = '', nonceCount = '', timestamp = '', hash = ''] = parts;
  if (mailboxId === '' || /\s/.test(mailboxId) || nonce === '' || nonce.length > MAX_NONCE_LENGTH) return undefined;
  if (!/^\d{1,10}$/.test(nonceCount) || !TIMESTAMP.test(timestamp) || !HEX_SHA256.test(hash)) return undefined;
  return { mailboxId, nonce, nonceCount, timestamp, hash: hash.toLowerCase() };
}

/** The time a token's `yyyyMMddHHmm` (UTC) stands for, or undefined when it is no real time. */
export function tokenTime(timestamp: string): Date | undefined {
  const match = TIMESTAMP.exec(timestamp);
  if (!match) return undefined;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute));
  const real = time.getUTCMonth() === month - 1 && time.getUTCDate() === day && hour < 24 && minute < 60;
  return real ? time : undefined;
}

export function tokenHash(sharedKey: string, token: Omit<MeshToken, 'hash'>, password: string): string {
  const message = `${token.mailboxId}:${token.nonce}:${token.nonceCount}:${password}:${token.timestamp}`;
  return createHmac('sha256', sharedKey).update(message).digest('hex');
}

/**
 * Checks a token's clock and HMAC against the mailbox's password; throws the 403 to give. Whether
 * the nonce was used before is the caller's to check, durably (authenticate.ts).
 */
export function verifyMeshToken(token: MeshToken, options: { sharedKey: string; password: string; now: Date }): void {
  const time = tokenTime(token.timestamp);
  if (time === undefined || Math.abs(options.now.getTime() - time.getTime()) > TOKEN_WINDOW_MS) throw MeshErrors.staleToken();
  const expected = Buffer.from(tokenHash(options.sharedKey, token, options.password), 'hex');
  const given = Buffer.from(token.hash, 'hex');
  // Constant time, so the comparison leaks nothing of how much of the hash was right.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw MeshErrors.invalidToken();
}

/** A MESH client certificate's common name: `<mailbox id>.<ODS code>.api.mesh-client.nhs.uk`. */
const CLIENT_COMMON_NAME = /^([^.]+)\.([^.]+)\.api\.mesh-client\.nhs\.uk$/i;

/**
 * Whether a client certificate's subject CN names this mailbox, as the spec's naming convention has
 * it (mesh-api.yaml, "Get a TLS certificate": "cn=mailboxid.odscode.api.mesh-client.nhs.uk"),
 * compared case-insensitively. The ODS part must be the mailbox's own ODS code in the directory:
 * the spec makes it "your ODS code", the organisation the mailbox is issued to, so a certificate
 * naming another organisation is not this mailbox's. (The spec's CSR step calls the first part a
 * local_id "such as a server name"; its naming convention, followed here, makes it the mailbox id.)
 */
export function certificateNamesMailbox(commonName: string | undefined, mailbox: { mailboxId: string; odsCode: string }): boolean {
  const [, mailboxId, odsCode] = CLIENT_COMMON_NAME.exec(commonName ?? '') ?? [];
  const same = (named: string | undefined, expected: string) => named !== undefined && named.toUpperCase() === expected.toUpperCase();
  return same(mailboxId, mailbox.mailboxId) && same(odsCode, mailbox.odsCode);
}

/** `yyyyMMddHHmm` in UTC, as a token carries it. */
export function tokenTimestamp(time: Date): string {
  return time.toISOString().replace(/[-T:]/g, '').slice(0, 12);
}

/** Builds an Authorization header as a MESH client does (the spec's example implementation). */
export function meshAuthorization(mailboxId: string, password: string, options: { sharedKey: string; nonce?: string; nonceCount?: number; time?: Date }): string {
  const token = { mailboxId, nonce: options.nonce ?? randomUUID(), nonceCount: String(options.nonceCount ?? 0), timestamp: tokenTimestamp(options.time ?? new Date()) };
  return `NHSMESH ${token.mailboxId}:${token.nonce}:${token.nonceCount}:${token.timestamp}:${tokenHash(options.sharedKey, token, password)}`;
}
