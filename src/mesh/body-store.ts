// The SQL of message bodies: each chunk's bytes as parts of at most PART_SIZE, written as they
// arrive and read back a few at a time, so that no body is ever held whole in memory. Large parts
// travel as binary COPY both ways: the `postgres` client sends and receives bytea as hex text,
// which doubles the bytes on the wire and costs both ends a hex encoding of every byte.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { Database, Queryable } from '../platform/db/connect.ts';
import { MESSAGE_ID } from './message-id.ts';

/** 1 MiB: small enough that a few in flight cost little memory, large enough to keep round trips few. */
export const PART_SIZE = 1024 * 1024;
/** Parts below this go as one prepared INSERT or SELECT: for a small message a COPY's extra round trip and planning cost more than hex. */
export const COPY_FROM_BYTES = 64 * 1024;
/** Parts fetched by one COPY when downloading: 4 MiB per query, one batch sent while the next is fetched. */
export const READ_BATCH_PARTS = 4;

export type PartKey = { messageId: string; chunkNumber: number; uploadId: string };

/**
 * Writes a part with an asynchronous commit: the call returns once PostgreSQL has the part, not once
 * its WAL is on disk. That is safe because no part is acknowledged to anyone by itself: a chunk is
 * answered 202 only after the chunk's own commit (send.ts, commitChunk), which is synchronous and
 * starts after every part write of the chunk has returned. WAL is one sequence flushed in order, so
 * flushing the chunk's commit record flushes every record before it, the parts' commits included;
 * a crash before that commit loses at most parts of a chunk nobody was told was received.
 */
export async function writePart(db: Database, key: PartKey, partNumber: number, data: Buffer): Promise<void> {
  checkKey(key);
  if (data.length < COPY_FROM_BYTES) {
    // set_config(..., true) lasts until the end of this statement's own transaction, its commit included.
    await db`
      with asynchronous_commit as (select set_config('synchronous_commit', 'off', true))
      insert into mesh_message_part (message_id, chunk_number, upload_id, part_number, data)
      select ${key.messageId}, ${key.chunkNumber}, ${key.uploadId}, ${partNumber}, ${data} from asynchronous_commit`;
    return;
  }
  await db.begin(async (tx) => {
    await tx`set local synchronous_commit = off`;
    const copy = await tx`copy mesh_message_part (message_id, chunk_number, upload_id, part_number, data) from stdin (format binary)`.writable();
    copy.write(COPY_SIGNATURE);
    copy.write(partTupleHeader(key, partNumber, data.length));
    copy.write(data);
    copy.end(COPY_TRAILER);
    await once(copy, 'finish'); // after PostgreSQL has confirmed the COPY
  });
}

/** One part by a prepared SELECT (a small message's only part). */
export async function readPart(db: Queryable, key: PartKey, partNumber: number): Promise<Buffer | undefined> {
  const [row] = await db<{ data: Buffer }[]>`
    select data from mesh_message_part
    where message_id = ${key.messageId} and chunk_number = ${key.chunkNumber} and upload_id = ${key.uploadId} and part_number = ${partNumber}`;
  return row?.data;
}

/** Parts `from` to `from + count - 1` in order, by one binary COPY; fewer if the chunk has fewer. */
export async function readParts(db: Database, key: PartKey, from: number, count: number): Promise<Buffer[]> {
  checkKey(key);
  if (!Number.isInteger(from) || !Number.isInteger(count)) throw new Error('Part numbers must be whole numbers');
  // COPY takes no parameters: the values are checked above to be an id, a uuid and numbers, and quoted.
  const query = `copy (
    select data from mesh_message_part
    where message_id = '${key.messageId}' and chunk_number = ${key.chunkNumber} and upload_id = '${key.uploadId}'
      and part_number >= ${from} and part_number < ${from + count}
    order by part_number) to stdout (format binary)`;
  // A connection of its own for the COPY: the pool would otherwise pipeline other queries onto it,
  // and the `postgres` client fails those (COPY_IN_PROGRESS) until the COPY is done.
  const connection = await db.reserve();
  try {
    const copy = await connection.unsafe(query).readable();
    const rows = new CopyRowReader();
    // Read as it comes (flowing), never pausing: the `postgres` client resumes a paused socket only
    // when the stream is read again, which never happens if the COPY has ended meanwhile. A batch is
    // a few parts, so taking it whole is the bound.
    copy.on('data', (piece: Buffer) => rows.push(piece));
    await once(copy, 'end');
    return rows.finish();
  } finally {
    connection.release();
  }
}

/**
 * A chunk's bytes as a stream: parts fetched READ_BATCH_PARTS at a time, the next batch fetched
 * while this one is sent, so at most two batches are in memory and no connection waits on a slow client.
 */
export function chunkBody(db: Database, chunk: PartKey & { partCount: number; size: number }): Readable {
  const { partCount, size } = chunk;
  const key: PartKey = { messageId: chunk.messageId, chunkNumber: chunk.chunkNumber, uploadId: chunk.uploadId };
  async function* parts(): AsyncGenerator<Buffer> {
    if (partCount === 1 && size < COPY_FROM_BYTES) {
      const part = await readPart(db, key, 0);
      if (part === undefined) throw missingParts(key, 0, 0);
      yield part;
      return;
    }
    const fetch = (from: number) => {
      const batch = readParts(db, key, from, Math.min(READ_BATCH_PARTS, partCount - from));
      batch.catch(() => undefined); // awaited next turn; a client gone by then must not leave it unhandled
      return batch;
    };
    let next = fetch(0);
    for (let from = 0; from < partCount; from += READ_BATCH_PARTS) {
      const batch = await next;
      if (from + READ_BATCH_PARTS < partCount) next = fetch(from + READ_BATCH_PARTS);
      const expected = Math.min(READ_BATCH_PARTS, partCount - from);
      if (batch.length !== expected) throw missingParts(key, from, from + expected - 1);
      yield* batch;
    }
  }
  // Byte mode with the smallest buffer: a part is read only when the previous one has been taken.
  return Readable.from(parts(), { objectMode: false, highWaterMark: 1 });
}

/** Removes the parts of an upload that failed or lost to another. */
export async function deleteUpload(db: Queryable, key: PartKey): Promise<void> {
  await db`delete from mesh_message_part where message_id = ${key.messageId} and chunk_number = ${key.chunkNumber} and upload_id = ${key.uploadId}`;
}

// PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format").
const COPY_SIGNATURE = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]); // then flags and extension length, both 0
const COPY_TRAILER = Buffer.from([0xff, 0xff]); // a field count of -1
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkKey(key: PartKey): void {
  if (!MESSAGE_ID.test(key.messageId) || !UUID.test(key.uploadId) || !Number.isInteger(key.chunkNumber)) {
    throw new Error(`Not a part key: ${JSON.stringify(key)}`);
  }
}

/** A row of mesh_message_part up to its data's length: the data itself follows. */
function partTupleHeader(key: PartKey, partNumber: number, dataLength: number): Buffer {
  const messageId = Buffer.from(key.messageId, 'latin1');
  const header = Buffer.alloc(2 + (4 + messageId.length) + (4 + 4) + (4 + 16) + (4 + 4) + 4);
  let at = header.writeInt16BE(5, 0);
  at = header.writeInt32BE(messageId.length, at);
  at += messageId.copy(header, at);
  at = header.writeInt32BE(4, at);
  at = header.writeInt32BE(key.chunkNumber, at);
  at = header.writeInt32BE(16, at);
  at += Buffer.from(key.uploadId.replaceAll('-', ''), 'hex').copy(header, at);
  at = header.writeInt32BE(4, at);
  at = header.writeInt32BE(partNumber, at);
  header.writeInt32BE(dataLength, at);
  return header;
}

/**
 * The single bytea column of each row of a binary COPY's output, read as the output arrives. PostgreSQL
 * sends each row in a CopyData message of its own, so a row is a view into the piece it came in
 * (no copy of the bytes, which would cost a garbage collection every few tens of MiB); a field
 * that spans pieces is copied together.
 */
class CopyRowReader {
  private readonly pieces: Buffer[] = [];
  private available = 0;
  private expecting: 'header' | 'extension' | 'field count' | 'length' | 'data' | 'end' = 'header';
  private need = COPY_SIGNATURE.length;
  private readonly rows: Buffer[] = [];

  push(piece: Buffer): void {
    this.pieces.push(piece);
    this.available += piece.length;
    while (this.expecting !== 'end' && this.available >= this.need) this.step(this.take(this.need));
  }

  finish(): Buffer[] {
    if (this.expecting !== 'end' || this.available > 0) throw new Error('PostgreSQL binary COPY output ended part way');
    return this.rows;
  }

  private step(bytes: Buffer): void {
    switch (this.expecting) {
      case 'header':
        if (!bytes.subarray(0, 11).equals(COPY_SIGNATURE.subarray(0, 11))) throw new Error('Not PostgreSQL binary COPY output');
        return this.expect('extension', bytes.readUInt32BE(15));
      case 'extension':
        return this.expect('field count', 2);
      case 'field count': {
        const fields = bytes.readInt16BE(0);
        if (fields === -1) return this.expect('end', 0);
        if (fields !== 1) throw new Error(`Expected one column in a COPY row, not ${fields}`);
        return this.expect('length', 4);
      }
      case 'length': {
        const length = bytes.readInt32BE(0);
        if (length < 0) throw new Error('A part without data');
        return this.expect('data', length);
      }
      case 'data':
        this.rows.push(bytes);
        return this.expect('field count', 2);
      case 'end':
        throw new Error('PostgreSQL binary COPY output went on past its end');
    }
  }

  private expect(what: CopyRowReader['expecting'], bytes: number): void {
    this.expecting = what;
    this.need = bytes;
  }

  /** The next `count` bytes: a view when they lie in one piece, else a copy. */
  private take(count: number): Buffer {
    this.available -= count;
    const first = this.pieces[0];
    if (first !== undefined && first.length >= count) {
      if (first.length === count) this.pieces.shift();
      else this.pieces[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const bytes = Buffer.allocUnsafe(count);
    for (let filled = 0; filled < count;) {
      const piece = this.pieces[0];
      if (piece === undefined) throw new Error('COPY reader: fewer bytes than counted');
      const copied = piece.copy(bytes, filled, 0, count - filled);
      filled += copied;
      if (copied === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(copied);
    }
    return bytes;
  }
}

function missingParts(key: PartKey, first: number, last: number): Error {
  return new Error(`Parts ${first} to ${last} of chunk ${key.chunkNumber} of message ${key.messageId} are not all there`);
}
