// A Postman collection run through newman's Node API, every assertion reported with the request it
// belongs to. newman ships no types; the little of it used here is typed below.
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

/** One `pm.test` of the collection: where it is, what it says, and why it failed (if it did). */
export type AssertionResult = { request: string; assertion: string; failure?: string };

type PostmanItem = { name: string; parent?: () => PostmanItem | undefined };
type AssertionEvent = { assertion: string; item: PostmanItem; skipped?: boolean };
type Newman = {
  run(
    options: { collection: string; envVar: { key: string; value: string }[]; reporters: string[]; timeoutRequest: number },
    callback: (error: Error | null) => void,
  ): EventEmitter;
};

const newman = createRequire(import.meta.url)('newman') as Newman;

/** The folders and name of a request, e.g. "Search for a patient / Fuzzy search". */
function pathOf(item: PostmanItem): string {
  const names: string[] = [];
  // The collection itself is the last parent: its name is left out.
  for (let node: PostmanItem | undefined = item; node?.parent?.(); node = node.parent()) names.unshift(node.name);
  return names.join(' / ');
}

/** Runs the collection with `variables` set and resolves with every assertion it made. */
export function runCollection(collection: string, variables: Record<string, string>, timeoutRequest = 10_000): Promise<AssertionResult[]> {
  const results: AssertionResult[] = [];
  return new Promise((resolve, reject) => {
    const run = newman.run(
      { collection, envVar: Object.entries(variables).map(([key, value]) => ({ key, value })), reporters: [], timeoutRequest },
      (error) => (error ? reject(error) : resolve(results)),
    );
    run.on('assertion', (error: Error | null, event: AssertionEvent) => {
      if (event.skipped) return;
      results.push({ request: pathOf(event.item), assertion: event.assertion, ...(error ? { failure: error.message } : {}) });
    });
  });
}
