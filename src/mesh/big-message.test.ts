// Large messages are streamed, never held whole: a chunked message of a few hundred MB goes up and
// comes down over real HTTP while the process's memory stays within a stated bound, and a request
// past the 100 MB limit is refused as it passes it, with or without a Content-Length.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { V2, meshTester } from '../../test/support/mesh.ts';
import { MAX_REQUEST_BYTES } from './index.ts';

const MiB = 1024 * 1024;
const CHUNKS = 3;
const CHUNK_BYTES = 96 * MiB;
/** The stated bound: the process grows by less than this while moving CHUNKS × CHUNK_BYTES up and down. */
const MEMORY_BOUND = 150 * MiB;

const t = await buildTestApp();
const mesh = meshTester(t);
await t.app.listen({ port: 0, host: '127.0.0.1' });
const { port } = t.app.server.address() as AddressInfo;
const [sender, recipient] = await mesh.mailboxes(2);
if (!sender || !recipient) throw new Error('no mailboxes');
const workflowId = await mesh.workflow([sender], [recipient]);

/** A chunk's bytes, made as they are sent: each MiB a random block stamped with where it is. */
const BLOCK = randomBytes(MiB);
function chunkBytes(chunk: number, size: number): Readable {
  return Readable.from((function* () {
    for (let offset = 0; offset < size; offset += MiB) {
      const block = Buffer.from(BLOCK.subarray(0, Math.min(MiB, size - offset)));
      block.writeUInt32BE(chunk, 0);
      block.writeUInt32BE(offset / MiB, 4);
      yield block;
    }
  })(), { objectMode: false });
}

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string; sha256: string; bytes: number };

function request(method: string, path: string, headers: Record<string, string>, body?: Readable): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port, method, path: `/messageexchange${path}`, headers }, (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let text = '';
      response.on('data', (piece: Buffer) => {
        hash.update(piece);
        bytes += piece.length;
        if (text.length < 2000) text += piece.toString('utf8', 0, Math.min(piece.length, 2000));
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, sha256: hash.digest('hex'), bytes }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    if (body === undefined) outgoing.end();
    else body.pipe(outgoing);
  });
}

const signed = (mailboxId: string, headers: Record<string, string> = {}) => ({ authorization: mesh.authorization(mailboxId), accept: V2, ...headers });

test(`a ${CHUNKS} × ${CHUNK_BYTES / MiB} MiB chunked message goes up and down with memory growth under ${MEMORY_BOUND / MiB} MiB`, async () => {
  const sentHashes: string[] = [];
  const hashOf = async (chunk: number) => {
    const hash = createHash('sha256');
    for await (const piece of chunkBytes(chunk, CHUNK_BYTES)) hash.update(piece as Buffer);
    return hash.digest('hex');
  };
  for (let chunk = 1; chunk <= CHUNKS; chunk++) sentHashes.push(await hashOf(chunk));

  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  const started = performance.now();
  try {
    const first = await request('POST', `/${sender}/outbox`, signed(sender, {
      'mex-to': recipient, 'mex-workflowid': workflowId, 'mex-chunk-range': `1:${CHUNKS}`, 'content-type': 'application/octet-stream', 'content-length': String(CHUNK_BYTES),
    }), chunkBytes(1, CHUNK_BYTES));
    assert.equal(first.status, 202, first.body);
    const messageId = (JSON.parse(first.body) as { message_id: string }).message_id;
    for (let chunk = 2; chunk <= CHUNKS; chunk++) {
      const answer = await request('POST', `/${sender}/outbox/${messageId}/${chunk}`, signed(sender, {
        'mex-chunk-range': `${chunk}:${CHUNKS}`, 'content-type': 'application/octet-stream', 'content-length': String(CHUNK_BYTES),
      }), chunkBytes(chunk, CHUNK_BYTES));
      assert.equal(answer.status, 202, answer.body);
    }
    const uploaded = performance.now();

    for (let chunk = 1; chunk <= CHUNKS; chunk++) {
      const answer = await request('GET', `/${recipient}/inbox/${messageId}${chunk === 1 ? '' : `/${chunk}`}`, signed(recipient));
      assert.equal(answer.status, chunk < CHUNKS ? 206 : 200);
      assert.equal(answer.headers['mex-chunk-range'], `${chunk}:${CHUNKS}`);
      assert.equal(answer.headers['content-length'], String(CHUNK_BYTES));
      assert.equal(answer.bytes, CHUNK_BYTES);
      assert.equal(answer.sha256, sentHashes[chunk - 1], `chunk ${chunk} comes back byte for byte`);
    }
    const downloaded = performance.now();
    const total = (CHUNKS * CHUNK_BYTES) / MiB;
    const growth = (peak - baseline) / MiB;
    console.log(`# ${total} MiB up in ${Math.round(uploaded - started)} ms (${Math.round(total / ((uploaded - started) / 1000))} MiB/s), `
      + `down in ${Math.round(downloaded - uploaded)} ms (${Math.round(total / ((downloaded - uploaded) / 1000))} MiB/s); rss grew by at most ${growth.toFixed(1)} MiB`);
    assert.ok(peak - baseline < MEMORY_BOUND, `rss grew by ${growth.toFixed(1)} MiB`);
  } finally {
    clearInterval(sampler);
  }
});

test('past 100 MiB a request is refused with 413: at once by its Content-Length, or as the streamed body passes the limit', async () => {
  const declared = await request('POST', `/${sender}/outbox`, signed(sender, {
    'mex-to': recipient, 'mex-workflowid': workflowId, 'content-type': 'application/octet-stream', 'content-length': String(MAX_REQUEST_BYTES + 1),
  }), Readable.from([Buffer.alloc(10)]));
  assert.equal(declared.status, 413);

  const [before] = await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message where sender_id = ${sender}`;
  // No Content-Length: chunked transfer encoding, counted as it comes.
  const streamed = await request('POST', `/${sender}/outbox`, signed(sender, {
    'mex-to': recipient, 'mex-workflowid': workflowId, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked',
  }), chunkBytes(9, MAX_REQUEST_BYTES + MiB));
  assert.equal(streamed.status, 413);
  assert.match(streamed.body, /at most 104857600 bytes/);
  const [after] = await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message where sender_id = ${sender}`;
  assert.deepEqual(after, before, 'the refused message left nothing behind');
  const [parts] = await t.db<{ count: number }[]>`select count(*)::int as count from mesh_message_part p join mesh_message m using (message_id) where m.sender_id = ${sender} and m.status = 'uploading'`;
  assert.equal(parts?.count, 0);
});
