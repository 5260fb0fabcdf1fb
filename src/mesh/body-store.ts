// The SQL of message bodies: each chunk's bytes as parts of at most PART_SIZE, written as they
// arrive and read back one at a time, so that no body is ever held whole in memory.
import type { Queryable } from '../platform/db/connect.ts';

/** 1 MiB: small enough that a few in flight cost little memory, large enough to keep round trips few. */
export const PART_SIZE = 1024 * 1024;

export type PartKey = { messageId: string; chunkNumber: number; uploadId: string };

export async function writePart(db: Queryable, key: PartKey, partNumber: number, data: Buffer): Promise<void> {
  await db`
    insert into mesh_message_part (message_id, chunk_number, upload_id, part_number, data)
    values (${key.messageId}, ${key.chunkNumber}, ${key.uploadId}, ${partNumber}, ${data})`;
}

export async function readPart(db: Queryable, key: PartKey, partNumber: number): Promise<Buffer | undefined> {
  const [row] = await db<{ data: Buffer }[]>`
    select data from mesh_message_part
    where message_id = ${key.messageId} and chunk_number = ${key.chunkNumber} and upload_id = ${key.uploadId} and part_number = ${partNumber}`;
  return row?.data;
}

/** Removes the parts of an upload that failed or lost to another. */
export async function deleteUpload(db: Queryable, key: PartKey): Promise<void> {
  await db`delete from mesh_message_part where message_id = ${key.messageId} and chunk_number = ${key.chunkNumber} and upload_id = ${key.uploadId}`;
}
