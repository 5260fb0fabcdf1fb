// MESH's metrics on the platform's /metrics: accepted, delivered, acknowledged and expired messages
// by workflow, and the depth of the deepest inboxes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';
import { createMeshService } from './index.ts';
import { INBOX_LIFETIME_MS } from './send.ts';
import { ALONE } from '../platform/cluster.ts';

const t = await buildTestApp();
const mesh = meshTester(t);

/** The value of a sample in Prometheus text, or undefined when there is none. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

test('messages accepted, delivered and acknowledged are counted by workflow, and inbox depth per mailbox', async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  const first = await mesh.send(sender, recipient, workflowId, 'one');
  await mesh.send(sender, recipient, workflowId, 'two');
  const chunked = await mesh.send(sender, recipient, workflowId, 'chunk 1', { 'mex-chunk-range': '1:2' });

  let metrics = (await t.app.inject({ url: '/metrics' })).body;
  assert.equal(sample(metrics, 'openspine_mesh_messages_accepted_total', `workflow="${workflowId}"`), 2, 'a chunked message counts once all its chunks are in');
  assert.equal(sample(metrics, 'openspine_mesh_inbox_depth', `mailbox="${recipient}"`), 2);
  assert.ok(Number(/^openspine_mesh_inbox_messages (\d+)$/m.exec(metrics)?.[1]) >= 2, 'all inboxes together');
  assert.match(metrics, /^openspine_http_request_duration_seconds_bucket/m, "the platform's own metrics are still there");

  await mesh.call({ method: 'POST', path: `/${sender}/outbox/${chunked}/2`, version: 2, headers: { 'mex-chunk-range': '2:2', 'content-type': 'application/octet-stream' }, payload: 'chunk 2' });
  assert.equal((await mesh.call({ path: `/${recipient}/inbox/${chunked}` })).statusCode, 206, 'chunk 1 of 2 is not yet delivered');
  await mesh.call({ path: `/${recipient}/inbox/${chunked}/2` });
  await mesh.call({ path: `/${recipient}/inbox/${first}` });
  await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${first}/status/acknowledged` });
  await mesh.call({ method: 'PUT', path: `/${recipient}/inbox/${first}/status/acknowledged` });

  // Inbox depths are read at most every 10 s: the counters are what changed here.
  metrics = (await t.app.inject({ url: '/metrics' })).body;
  assert.equal(sample(metrics, 'openspine_mesh_messages_accepted_total', `workflow="${workflowId}"`), 3);
  assert.equal(sample(metrics, 'openspine_mesh_messages_delivered_total', `workflow="${workflowId}"`), 2);
  assert.equal(sample(metrics, 'openspine_mesh_messages_acknowledged_total', `workflow="${workflowId}"`), 1, 'acknowledged twice, counted once');
});

test("messages expired by the server's sweep are counted by workflow", async () => {
  const [sender = '', recipient = ''] = await mesh.mailboxes(2);
  const workflowId = await mesh.workflow([sender], [recipient]);
  await mesh.send(sender, recipient, workflowId, 'never collected');

  const server = Fastify();
  const registry = new Registry();
  server.get('/metrics', async () => registry.metrics()); // as the platform's /metrics answers
  await createMeshService({ now: () => new Date(Date.now() + INBOX_LIFETIME_MS + 60_000), sweepIntervalMs: 20 }).register(server, { db: t.db, config: t.config, log: pino({ level: 'silent' }), metrics: registry, cluster: ALONE });
  try {
    const deadline = Date.now() + 5000;
    let expired: number | undefined;
    while (expired === undefined && Date.now() < deadline) {
      expired = sample((await server.inject({ url: '/metrics' })).body, 'openspine_mesh_messages_expired_total', `workflow="${workflowId}"`);
      if (expired === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(expired, 1);
  } finally {
    await server.close();
  }
});
