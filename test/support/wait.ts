// Polling for something another process, timer or connection makes true, instead of sleeping.
import { setTimeout as delay } from 'node:timers/promises';

/** Polls a condition until it holds, or fails naming what it waited for (5 s by default). */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: { timeoutMs?: number; what?: () => string } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${options.what?.() ?? 'the condition'}`);
    await delay(20);
  }
}
