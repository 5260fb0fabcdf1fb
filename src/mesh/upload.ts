// Streams a request body into the database in parts of PART_SIZE, at most WRITES_IN_FLIGHT parts
// being written while the next is read: memory stays a few MiB whatever the size, and a body over
// the limit is refused as soon as it passes it. The caller commits the chunk; on any failure the parts go.
import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '../platform/db/connect.ts';
import { COPY_FROM_BYTES, PART_SIZE, deleteUpload, writePart, type PartKey } from './body-store.ts';
import { MeshErrors } from './errors.ts';

export type StoredUpload = PartKey & { size: number; partCount: number; sha1: string };

/** Four writes on four pooled connections overlap their round trips (mesh-bulk here: 76-95 MB/s up with four, 54-86 with two). */
const WRITES_IN_FLIGHT = 4;

export type Pieces = AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

/**
 * A body whole when it is smaller than COPY_FROM_BYTES (a small message, sent in one statement with
 * its message: send.ts), else the same body as a stream again, its first pieces included, for
 * storeUpload. At most COPY_FROM_BYTES and one piece are held.
 */
export async function readSmallBody(body: Pieces): Promise<{ whole: Buffer; stream?: undefined } | { whole?: undefined; stream: AsyncIterable<Buffer | string> }> {
  const iterator = Symbol.asyncIterator in body ? body[Symbol.asyncIterator]() : body[Symbol.iterator]();
  const pieces: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return { whole: Buffer.concat(pieces, size) };
    const bytes = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    pieces.push(bytes);
    size += bytes.length;
    if (size >= COPY_FROM_BYTES) return { stream: rejoined(pieces, iterator) };
  }
}

async function* rejoined(first: Buffer[], rest: AsyncIterator<Buffer | string> | Iterator<Buffer | string>): AsyncGenerator<Buffer | string> {
  try {
    yield* first;
    for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
  } finally {
    // Stopped early (a body over the limit, a failed write): the body is let go, as a for-await over it would.
    await rest.return?.();
  }
}

export async function storeUpload(db: Database, target: Omit<PartKey, 'uploadId'>, body: Pieces, limit: number): Promise<StoredUpload> {
  const key: PartKey = { ...target, uploadId: randomUUID() };
  const sha1 = createHash('sha1');
  // Part buffers are used again once written: a new MiB for every MiB received would cost the
  // process a garbage collection every few tens of MiB.
  const written: Buffer<ArrayBuffer>[] = [];
  let part = Buffer.allocUnsafe(PART_SIZE);
  let filled = 0;
  let size = 0;
  let partCount = 0;
  const writing: Promise<void>[] = [];

  const flush = async () => {
    if (writing.length >= WRITES_IN_FLIGHT) await writing.shift();
    const buffer = part;
    const write = writePart(db, key, partCount++, filled === PART_SIZE ? buffer : buffer.subarray(0, filled)).then(() => {
      written.push(buffer);
    });
    write.catch(() => undefined); // awaited later; this only keeps an early failure from going unhandled
    writing.push(write);
    part = written.pop() ?? Buffer.allocUnsafe(PART_SIZE);
    filled = 0;
  };

  try {
    for await (const piece of body) {
      const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
      size += bytes.length;
      if (size > limit) throw MeshErrors.tooLarge(limit);
      sha1.update(bytes);
      let offset = 0;
      while (offset < bytes.length) {
        const copied = bytes.copy(part, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === PART_SIZE) await flush();
      }
    }
    if (filled > 0) await flush();
    await Promise.all(writing);
    return { ...key, size, partCount, sha1: sha1.digest('hex') };
  } catch (error) {
    await Promise.allSettled(writing);
    await deleteUpload(db, key);
    throw error;
  }
}
