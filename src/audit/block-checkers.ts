// Where verification checks its blocks (block-check.ts): in its own thread, or spread over worker
// threads, which unpack, parse and hash each block's records (nine tenths of verification's CPU)
// while the walk links them. A thread that fails fails the verification: a block left unchecked
// would pass for an intact one.
import { Worker } from 'node:worker_threads';
import { checkBlock, type BlockCheck } from './block-check.ts';
import type { BlockRow } from './store.ts';

export type BlockChecker = { check(row: BlockRow): Promise<BlockCheck>; close(): Promise<void> };

export type CheckRequest = { id: number; row: BlockRow };
export type CheckReply = { id: number; check: BlockCheck } | { id: number; error: Error };

const ENTRY = new URL('./block-check-worker.ts', import.meta.url);

/** `threads` worker threads, or the caller's own thread when 0. */
export function blockCheckers(threads: number): BlockChecker {
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`threads must be a whole number, 0 or more, not ${threads}`);
  if (threads === 0) return { check: async (row) => checkBlock(row), close: async () => undefined };
  const waiting = new Map<number, { resolve(check: BlockCheck): void; reject(error: unknown): void }>();
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const settlers of waiting.values()) settlers.reject(failure);
    waiting.clear();
  };
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(ENTRY, { name: 'openspine-audit-verify' });
    worker.on('message', (reply: CheckReply) => {
      const settlers = waiting.get(reply.id);
      waiting.delete(reply.id);
      if ('error' in reply) settlers?.reject(reply.error);
      else settlers?.resolve(reply.check);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`A verifying thread stopped (exit code ${code})`)));
    return worker;
  });
  let nextId = 0;
  return {
    check(row) {
      if (failure) return Promise.reject(failure);
      const id = (nextId += 1);
      const worker = workers[id % workers.length] as Worker;
      return new Promise<BlockCheck>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, row } satisfies CheckRequest);
      });
    },
    async close() {
      failure ??= new Error('The verifying threads are closed');
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
