// Per-application rate limits (the NHS API platform's default is 5 requests a second per app):
// a token bucket per application, one second of burst. The limit is the whole service's: with N
// OpenSpine processes behind a balancer (src/platform/cluster.ts), each allows 1/N of it.

export type RateLimiter = { take(key: string, perSecond: number): boolean };

export function createRateLimiter(options: { processes?: () => number; now?: () => number } = {}): RateLimiter {
  const processes = options.processes ?? (() => 1);
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, perSecond) {
      const share = perSecond / processes();
      const time = now();
      // A share below one request a second still lets one through now and then, never a burst.
      const capacity = Math.max(1, share);
      const bucket = buckets.get(key) ?? { tokens: capacity, at: time };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((time - bucket.at) / 1000) * share);
      bucket.at = time;
      buckets.set(key, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}
