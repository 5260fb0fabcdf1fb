// MESH's message ids, `YYYYMMDDHHMMSSffffff_XXXXXX` (../shared/specs/README.md section 3): the time
// to the microsecond, then six hex digits. Ids sort by time, which the inbox listing relies on.
import { randomInt } from 'node:crypto';

export const MESSAGE_ID = /^\d{20}_[0-9A-F]{6}$/;

export function newMessageId(now: Date): string {
  const millis = now.toISOString().replace(/\D/g, '').slice(0, 17);
  // JavaScript clocks stop at the millisecond; the microseconds and the suffix keep ids apart.
  const micros = String(randomInt(1000)).padStart(3, '0');
  // randomInt draws from a cache of random bytes; randomBytes made a system call for each id.
  const suffix = randomInt(0x1000000).toString(16).toUpperCase().padStart(6, '0');
  return `${millis}${micros}_${suffix}`;
}

/** `yyyyMMddHHmmss` in UTC, the form of MESH's status, upload and expiry timestamps. */
export function compactTime(time: Date): string {
  return time.toISOString().replace(/\D/g, '').slice(0, 14);
}

/** `yyyy-MM-ddTHH:mm:ss` in UTC, the form of the v2 tracking status timestamp. */
export function isoSeconds(time: Date): string {
  return time.toISOString().slice(0, 19);
}
