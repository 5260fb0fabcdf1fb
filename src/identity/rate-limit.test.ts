// An application's rate limit is the whole service's: one second of burst, refilled at the limit,
// and shared among the OpenSpine processes running.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from './rate-limit.ts';

/** How many of `attempts` requests at one instant the limiter lets through. */
function allowedAtOnce(limiter: ReturnType<typeof createRateLimiter>, key: string, perSecond: number, attempts: number): number {
  return Array.from({ length: attempts }, () => limiter.take(key, perSecond)).filter(Boolean).length;
}

test('alone, a burst of one second of the limit, then the limit each second; applications apart', () => {
  let now = 0;
  const limiter = createRateLimiter({ now: () => now });
  assert.equal(allowedAtOnce(limiter, 'app-a', 10, 50), 10);
  assert.equal(allowedAtOnce(limiter, 'app-b', 10, 50), 10, 'another application has its own bucket');
  now += 500;
  assert.equal(allowedAtOnce(limiter, 'app-a', 10, 50), 5, 'half a second refills half the limit');
  now += 10_000;
  assert.equal(allowedAtOnce(limiter, 'app-a', 10, 50), 10, 'never more than one second of burst');
});

test('with four processes, each lets through a quarter: the service as a whole keeps to the limit', () => {
  let now = 0;
  let processes = 4;
  const limiter = createRateLimiter({ now: () => now, processes: () => processes });
  assert.equal(allowedAtOnce(limiter, 'app', 20, 50), 5);
  now += 1_000;
  assert.equal(allowedAtOnce(limiter, 'app', 20, 50), 5);
  processes = 1; // the others stopped: this one takes the whole limit again
  now += 1_000;
  assert.equal(allowedAtOnce(limiter, 'app', 20, 50), 20);
});

test('a share under one request a second still lets one through now and then, never a burst', () => {
  let now = 0;
  const limiter = createRateLimiter({ now: () => now, processes: () => 10 });
  assert.equal(allowedAtOnce(limiter, 'app', 5, 10), 1);
  now += 1_000;
  assert.equal(allowedAtOnce(limiter, 'app', 5, 10), 0, 'half a request a second');
  now += 1_000;
  assert.equal(allowedAtOnce(limiter, 'app', 5, 10), 1);
});
