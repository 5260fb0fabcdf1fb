// MESH's promise under kill -9: while messages flow (small, multi-part and chunked), the server and
// its PostgreSQL are killed outright; after a restart on the same data every message answered 202 in
// full is in its recipient's inbox once and downloads byte for byte, and no message part way through
// its upload is visible.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { connectDatabase } from '../src/platform/db/connect.ts';
import { meshHttpClient, sha256, type MeshHttpClient } from './support/mesh-http.ts';
import { V2 } from './support/mesh.ts';
import { killWhileRequestsRun, siteDatabaseUrl, testSite, within, type ServerSite } from './support/server-process.ts';

// The sandbox's demo mailboxes and workflow (src/mesh/demo-directory.ts), seeded in sandbox mode.
const SENDER = 'X26ABC1';
const RECIPIENT = 'X26ABC2';
const WORKFLOW = 'TEST_WORKFLOW';
const SHARED_KEY = 'TestKey';
const PASSWORD = 'password';

const WORKERS = 8;
/** Messages answered 202 in full before the kill, of which chunked at least CHUNKED_BEFORE_CRASH. */
const DELIVERED_BEFORE_CRASH = 120;
const CHUNKED_BEFORE_CRASH = 8;
const KiB = 1024;
const MiB = 1024 * KiB;

/** What the client knows of one message it set out to send. */
type Sending = {
  localId: string;
  chunkHashes: string[];
  /** Chunks whose request was begun (answered or not). */
  chunksStarted: number;
  /** Chunks answered 202. */
  chunksAccepted: number;
  messageId: string | undefined;
};

test('kill -9 of the server and its PostgreSQL while messages flow: every message answered 202 is delivered once, whole; nothing half-sent is visible', { timeout: 90_000 }, async (t) => {
  const { site, start } = await testSite(t);
  const first = await start();

  const sending = startSending(site.baseUrl);
  await within(sending.deliveredAtLeast(DELIVERED_BEFORE_CRASH, CHUNKED_BEFORE_CRASH), 45_000, () => `${DELIVERED_BEFORE_CRASH} messages delivered (${sending.delivered().length} so far)`);
  const messages = await killWhileRequestsRun(first, site, sending);
  assert.deepEqual(sending.refusals(), [], 'requests answered with something other than 202 before the kill');

  await start();
  const client = meshHttpClient({ baseUrl: site.baseUrl, sharedKey: SHARED_KEY, password: PASSWORD, connections: WORKERS });
  try {
    const inbox = await wholeInbox(client);
    assert.equal(new Set(inbox).size, inbox.length, 'a message id listed twice');
    const byLocalId = new Map(messages.map((message) => [message.localId, message]));
    const found = await inParallel(inbox, (messageId) => downloadAndCheck(client, messageId, byLocalId));
    const problems = found.flatMap((result) => result.problems);
    assert.deepEqual(problems, [], 'messages in the inbox that are not as sent');

    const inboxLocalIds = found.map((result) => result.localId);
    assert.equal(new Set(inboxLocalIds).size, inboxLocalIds.length, 'a message delivered twice');
    const delivered = messages.filter((message) => message.chunksAccepted === message.chunkHashes.length);
    const missing = delivered.filter((message) => !inboxLocalIds.includes(message.localId)).map((message) => `${message.localId} (${message.messageId})`);
    assert.deepEqual(missing, [], 'messages answered 202 in full that are not in the inbox after the restart');
    const halfSent = messages.filter((message) => message.chunksStarted < message.chunkHashes.length);
    assert.deepEqual(halfSent.filter((message) => inboxLocalIds.includes(message.localId)).map((message) => message.localId), [], 'messages visible before their last chunk was sent');
    for (const message of halfSent.filter((sent) => sent.messageId !== undefined)) {
      const answer = await client.request({ method: 'GET', path: `/${RECIPIENT}/inbox/${message.messageId}`, mailboxId: RECIPIENT, headers: { accept: V2 } });
      assert.equal(answer.status, 404, `${message.localId}: a message part way through its upload answered ${answer.status}`);
    }
    assert.deepEqual(await inconsistentDeliveries(site), [], 'delivered messages whose chunks or parts do not add up');

    const inFlight = messages.filter((message) => message.chunksAccepted < message.chunksStarted).length;
    t.diagnostic(`${delivered.length} delivered before the kill (${delivered.filter((message) => message.chunkHashes.length > 1).length} chunked), ${inFlight} in flight at it, ${halfSent.length} half sent; ${inbox.length} in the inbox after the restart`);
  } finally {
    client.close();
  }
});

type SendingStream = {
  deliveredAtLeast(count: number, chunked: number): Promise<void>;
  delivered(): Sending[];
  refusals(): string[];
  stop(): Promise<Sending[]>;
};

/**
 * WORKERS senders, each sending its messages one after another: three in four a single request of
 * 100 bytes to 300 KiB (both ways a part is written) or now and then 2.5 MiB (several parts), the
 * fourth in three chunks of about 1.5 MiB. Each carries a local id naming it, and its bytes' hashes are kept.
 */
function startSending(baseUrl: string): SendingStream {
  const client = meshHttpClient({ baseUrl, sharedKey: SHARED_KEY, password: PASSWORD, connections: WORKERS });
  const messages: Sending[] = [];
  const refusals: string[] = [];
  let stopping = false;
  let wanted = { count: Infinity, chunked: Infinity };
  let reached = () => {};
  const delivered = () => messages.filter((message) => message.chunksAccepted === message.chunkHashes.length);
  const check = () => {
    const done = delivered();
    if (refusals.length > 0 || (done.length >= wanted.count && done.filter((message) => message.chunkHashes.length > 1).length >= wanted.chunked)) reached();
  };

  const send = async (worker: number, sequence: number) => {
    const chunked = sequence % 4 === 3;
    const sizes = chunked ? [1.5 * MiB, 1.5 * MiB, MiB].map((size) => size + randomSize(64 * KiB))
      : [sequence % 10 === 5 ? 2.5 * MiB : 100 + randomSize(300 * KiB)];
    const bodies = sizes.map((size) => randomBytes(Math.round(size)));
    const message: Sending = { localId: `crash-${worker}-${sequence}`, chunkHashes: bodies.map(sha256), chunksStarted: 0, chunksAccepted: 0, messageId: undefined };
    messages.push(message);
    for (const [index, body] of bodies.entries()) {
      if (stopping) return;
      const chunk = index + 1;
      const range = { 'mex-chunk-range': `${chunk}:${bodies.length}` };
      message.chunksStarted = chunk;
      const answer = chunk === 1
        ? await client.request({ method: 'POST', path: `/${SENDER}/outbox`, mailboxId: SENDER, body, headers: {
          accept: V2, 'content-type': 'application/octet-stream', 'mex-to': RECIPIENT, 'mex-workflowid': WORKFLOW, 'mex-localid': message.localId, ...range,
        } })
        : await client.request({ method: 'POST', path: `/${SENDER}/outbox/${message.messageId}/${chunk}`, mailboxId: SENDER, body, headers: {
          accept: V2, 'content-type': 'application/octet-stream', ...range,
        } });
      if (answer.status !== 202) {
        refusals.push(`${message.localId} chunk ${chunk}: ${answer.status} ${answer.body?.toString('utf8').slice(0, 300)}`);
        return;
      }
      if (chunk === 1) message.messageId = client.json<{ message_id: string }>(answer).message_id;
      message.chunksAccepted = chunk;
    }
  };
  const worker = async (worker: number) => {
    for (let sequence = 0; !stopping && refusals.length === 0; sequence++) {
      try {
        await send(worker, sequence);
      } catch {
        return; // no answer: the server is gone
      } finally {
        check();
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, index) => worker(index));
  return {
    deliveredAtLeast: (count, chunked) => new Promise<void>((resolve) => {
      wanted = { count, chunked };
      reached = resolve;
      check();
    }),
    delivered,
    refusals: () => refusals,
    stop: async () => {
      stopping = true;
      await Promise.all(workers);
      client.close();
      return messages;
    },
  };
}

function randomSize(max: number): number {
  return Math.floor(Math.random() * max);
}

/** Every message id in the recipient's inbox, page by page. */
async function wholeInbox(client: MeshHttpClient): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = `/${RECIPIENT}/inbox?max_results=5000`;
  while (next !== undefined) {
    const answer = await client.request({ method: 'GET', path: next, mailboxId: RECIPIENT, headers: { accept: V2 } });
    assert.equal(answer.status, 200);
    const page = client.json<{ messages: string[]; links: { next?: string } }>(answer);
    ids.push(...page.messages);
    next = page.links.next?.slice('/messageexchange'.length);
  }
  return ids;
}

/** Downloads each chunk of an inbox message and compares it with what was sent under its local id. */
async function downloadAndCheck(client: MeshHttpClient, messageId: string, sent: Map<string, Sending>): Promise<{ localId: string; problems: string[] }> {
  const problems: string[] = [];
  let localId = '';
  let chunks = 1;
  for (let chunk = 1; chunk <= chunks; chunk++) {
    const answer = await client.request({ method: 'GET', path: `/${RECIPIENT}/inbox/${messageId}${chunk === 1 ? '' : `/${chunk}`}`, mailboxId: RECIPIENT, headers: { accept: V2 } });
    if (chunk === 1) {
      localId = String(answer.headers['mex-localid'] ?? '');
      chunks = Number(String(answer.headers['mex-chunk-range'] ?? '1:1').split(':')[1]);
    }
    const expected = sent.get(localId);
    if (expected === undefined) return { localId, problems: [`${messageId}: in the inbox, but no message was sent as '${localId}'`] };
    if (chunks !== expected.chunkHashes.length) return { localId, problems: [`${localId}: ${chunks} chunks instead of ${expected.chunkHashes.length}`] };
    const status = chunk < chunks ? 206 : 200;
    if (answer.status !== status) problems.push(`${localId} chunk ${chunk}: HTTP ${answer.status} instead of ${status}`);
    else if (answer.sha256 !== expected.chunkHashes[chunk - 1]) problems.push(`${localId} chunk ${chunk}: ${answer.bytes} bytes, not the bytes sent`);
  }
  return { localId, problems };
}

async function inParallel<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T);
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  return results;
}

/** Delivered messages whose chunk rows are not all there, or whose chunks' parts are not all there and of the chunk's size. */
async function inconsistentDeliveries(site: ServerSite): Promise<string[]> {
  const db = connectDatabase(await siteDatabaseUrl(site), { max: 1, applicationName: 'mesh-crash-test' });
  try {
    const rows = await db<{ message_id: string }[]>`
      select m.message_id from mesh_message m
      where m.status = 'accepted' and (
        m.chunk_count <> (select count(*) from mesh_message_chunk c where c.message_id = m.message_id)
        or exists (
          select 1 from mesh_message_chunk c
          cross join lateral (
            select count(*)::int as parts, coalesce(sum(octet_length(p.data)), 0)::bigint as bytes from mesh_message_part p
            where p.message_id = c.message_id and p.chunk_number = c.chunk_number and p.upload_id = c.upload_id) stored
          where c.message_id = m.message_id and (stored.parts <> c.part_count or stored.bytes <> c.size)))`;
    return rows.map((row) => row.message_id);
  } finally {
    await db.end({ timeout: 5 });
  }
}
