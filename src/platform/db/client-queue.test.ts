// The `postgres` client's queues, as patched at install (patches/postgres+3.4.9.patch). As
// published, the pool's queue of busy connections searched every slot it had ever held each time a
// connection moved, and kept them until the queue emptied, which a busy pool never does: a pool of
// 8 under steady load fell from 30k to 6.5k queries a second within 40 s, and kept falling.
import assert from 'node:assert/strict';
import test from 'node:test';

type Queue<T> = { readonly length: number; push(x: T): T; shift(): T | undefined; remove(x: T): T | null };
type Connection = { id: number; queue: Queue<Connection> };

const { default: createQueue } = (await import(new URL('./queue.js', import.meta.resolve('postgres')).href)) as { default: <T>(initial?: T[]) => Queue<T> };

/** What the pool does for each query while every connection is busy: takes the next one, and moves it back to the busy queue. */
function dispatch(busy: Queue<Connection>, count: number): void {
  for (let n = 0; n < count; n++) {
    const connection = busy.shift();
    if (!connection) throw new Error('the busy queue lost its connections');
    connection.queue.remove(connection);
    busy.push(connection);
    connection.queue = busy;
  }
}

test('the busy queue keeps its connections in turn and removes the one asked for', () => {
  const busy = createQueue<Connection>();
  const connections = Array.from({ length: 4 }, (_, id) => ({ id, queue: busy }));
  for (const connection of connections) busy.push(connection);
  dispatch(busy, 5000);
  assert.equal(busy.length, 4);
  assert.equal(busy.remove(connections[2] as Connection), connections[2]);
  assert.equal(busy.remove(connections[2] as Connection), null);
  assert.deepEqual([busy.shift(), busy.shift(), busy.shift()].map((connection) => connection?.id), [0, 1, 3]);
  assert.equal(busy.length, 0);
});

test('a pool busy for good dispatches its 100,000th query as cheaply as its first', () => {
  const busy = createQueue<Connection>();
  for (let id = 0; id < 8; id++) busy.push({ id, queue: busy });
  const timed = (count: number) => {
    const started = process.cpuUsage();
    dispatch(busy, count);
    const used = process.cpuUsage(started);
    return used.user + used.system;
  };
  timed(5_000); // warm up the JIT
  const early = timed(5_000);
  dispatch(busy, 100_000);
  const late = timed(5_000);
  // Unpatched, each move scans every spent slot: the late batch costs over ten times the early one.
  assert.ok(late < Math.max(early, 2_000) * 5, `5,000 dispatches took ${early} µs of CPU at first, ${late} µs after 100,000 more`);
});
