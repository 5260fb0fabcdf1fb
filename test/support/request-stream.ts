// Requests sent without pause by a fixed number of workers until stopped, for the tests that kill
// the server under load (test/crash.test.ts, test/audit-crash.test.ts): each request ends
// acknowledged (the answer the test holds the server to), refused (any other answer), or
// unanswered (the connection died with the server).
import { within } from './server-process.ts';

export type StreamOutcome<T> = {
  /** Answered as hoped: what the server promised by answering must survive the crash. */
  acknowledged: T[];
  /** Sent but never answered (in flight at the kill), by key: these may or may not have taken effect. */
  unanswered: string[];
  /** Answered otherwise: none are expected. */
  refused: string[];
};

/** What one request's answer was; a request that throws was never answered. */
export type Answer<T> = { acknowledged: T } | { refused: string };

export type RequestStream<T> = {
  /** Resolves once `count` requests are acknowledged, or any request is refused or unanswered, while the others are still in flight. */
  acknowledgedAtLeast(count: number): Promise<void>;
  /** Stops sending and resolves with every request's outcome once those in flight have ended. */
  stop(): Promise<StreamOutcome<T>>;
};

/** `send(n)` sends the n-th request (from 1) and names it by `key`, the name it has if never answered. */
export function startRequestStream<T>(concurrency: number, send: (n: number) => { key: string; answer: Promise<Answer<T>> }): RequestStream<T> {
  const outcome: StreamOutcome<T> = { acknowledged: [], unanswered: [], refused: [] };
  let sent = 0;
  let stopping = false;
  let target = Infinity;
  let reached = () => {};
  const check = () => {
    // A failure ends the wait too, so that the test reports it at once.
    if (outcome.acknowledged.length >= target || outcome.refused.length + outcome.unanswered.length > 0) reached();
  };
  const worker = async () => {
    while (!stopping) {
      const { key, answer } = send(++sent);
      try {
        const answered = await answer;
        if ('acknowledged' in answered) outcome.acknowledged.push(answered.acknowledged);
        else outcome.refused.push(answered.refused);
      } catch {
        outcome.unanswered.push(key);
      }
      check();
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    // Resolved from the worker that reaches the count, so the caller acts while the other requests are in flight.
    acknowledgedAtLeast: (count) => {
      const arrived = new Promise<void>((resolve) => {
        target = count;
        reached = resolve;
      });
      check();
      return within(arrived, 20_000, () => `${count} acknowledged requests (${outcome.acknowledged.length} so far)`);
    },
    stop: async () => {
      stopping = true;
      await Promise.all(workers);
      return outcome;
    },
  };
}
