// A verifying thread's entry point (started by block-checkers.ts): checks each block it is sent
// and answers with the check, or with why it could not.
import { parentPort } from 'node:worker_threads';
import { checkBlock } from './block-check.ts';
import type { CheckReply, CheckRequest } from './block-checkers.ts';

const port = parentPort;
if (!port) throw new Error('block-check-worker.ts runs as a worker thread, started by block-checkers.ts');
port.on('message', ({ id, row }: CheckRequest) => {
  try {
    port.postMessage({ id, check: checkBlock(row) } satisfies CheckReply);
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error : new Error(String(error)) } satisfies CheckReply);
  }
});
