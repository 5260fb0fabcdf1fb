// Work a server does by itself at an interval (sweeps of expired messages and prescriptions): one
// run at a time in a process, a failure logged and tried again at the next interval, and a timer
// that never keeps the process alive by itself.
import type { Logger } from 'pino';

export type PeriodicJob = {
  /** Runs the work now, or waits for the run in progress (never two at once in a process). */
  runNow(): Promise<void>;
  /** Stops the timer and waits for a run in progress to finish. */
  stop(): Promise<void>;
};

/** Runs `work` every `intervalMs`, the first time one interval after the start. */
export function runPeriodically(options: { name: string; intervalMs: number; log: Logger; work: () => Promise<void> }): PeriodicJob {
  let running: Promise<void> | undefined;
  const run = (): Promise<void> => {
    running ??= (async () => {
      try {
        await options.work();
      } catch (error) {
        options.log.error({ err: error }, `${options.name} failed; it runs again at the next interval`);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void run(), options.intervalMs);
  timer.unref();
  return {
    runNow: run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
