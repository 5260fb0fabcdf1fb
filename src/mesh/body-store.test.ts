// Bodies go into the database and come back byte for byte at every size that takes another path:
// small parts by INSERT and SELECT, large ones by binary COPY, read in batches of READ_BATCH_PARTS
// whether or not the part count is a multiple of it; a missing part fails the stream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { PART_SIZE, READ_BATCH_PARTS, chunkBody, readParts } from './body-store.ts';
import { newMessageId } from './message-id.ts';
import { storeUpload } from './upload.ts';

const { db } = await createTestDatabase();
const KiB = 1024;

async function newMessage(): Promise<string> {
  const messageId = newMessageId(new Date());
  await db`insert into mesh_message (message_id, sender_id, recipient_id, workflow_id, chunk_count, status, status_at, created_at, delete_after)
    values (${messageId}, 'S', 'R', 'W', 1, 'uploading', now(), now(), now() + interval '30 days')`;
  return messageId;
}

async function collect(stream: Readable): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

/** Random bytes sent in pieces of odd sizes, as a socket gives them. */
function pieces(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += 65_521) out.push(data.subarray(at, at + 65_521));
  return out;
}

const SIZES = {
  'one byte': 1,
  'just under the COPY threshold (one INSERT)': 64 * KiB - 1,
  'at the COPY threshold': 64 * KiB,
  'one whole part': PART_SIZE,
  'one part and a byte': PART_SIZE + 1,
  [`${READ_BATCH_PARTS} parts (one whole batch)`]: READ_BATCH_PARTS * PART_SIZE,
  [`${READ_BATCH_PARTS * 2 + 1} parts and a bit (batches and a short one)`]: (READ_BATCH_PARTS * 2 + 1) * PART_SIZE + 12_345,
};

for (const [name, size] of Object.entries(SIZES)) {
  test(`${name}: ${size} bytes go in and come back the same`, async () => {
    const data = randomBytes(size);
    const messageId = await newMessage();
    const upload = await storeUpload(db, { messageId, chunkNumber: 1 }, pieces(data), 100 * 1024 * 1024);
    assert.equal(upload.size, size);
    assert.equal(upload.partCount, Math.ceil(size / PART_SIZE));
    const back = await collect(chunkBody(db, upload));
    assert.equal(back.length, size);
    assert.ok(back.equals(data), 'the same bytes');
  });
}

test('readParts gives the parts asked for in order, and fewer past the end', async () => {
  const data = randomBytes(3 * PART_SIZE + 10);
  const upload = await storeUpload(db, { messageId: await newMessage(), chunkNumber: 1 }, pieces(data), 100 * 1024 * 1024);
  const parts = await readParts(db, upload, 1, 5);
  assert.deepEqual(parts.map((part) => part.length), [PART_SIZE, PART_SIZE, 10]);
  assert.ok(Buffer.concat(parts).equals(data.subarray(PART_SIZE)));
});

test('a part missing from the database fails the download instead of sending short', async () => {
  const data = randomBytes(2 * READ_BATCH_PARTS * PART_SIZE);
  const upload = await storeUpload(db, { messageId: await newMessage(), chunkNumber: 1 }, pieces(data), 100 * 1024 * 1024);
  await db`delete from mesh_message_part where message_id = ${upload.messageId} and part_number = ${READ_BATCH_PARTS + 1}`;
  await assert.rejects(collect(chunkBody(db, upload)), /Parts 4 to 7 of chunk 1 of message .* are not all there/);
});

test('a key that is not an id is refused before any SQL is built from it', async () => {
  const key = { messageId: "x' or '1'='1", chunkNumber: 1, uploadId: '00000000-0000-0000-0000-000000000000' };
  await assert.rejects(readParts(db, key, 0, 1), /Not a part key/);
  await assert.rejects(readParts(db, { ...key, messageId: newMessageId(new Date()), uploadId: "' or true --" }, 0, 1), /Not a part key/);
});
