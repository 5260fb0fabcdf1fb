// Per-application rate limits (the NHS API platform's default is 5 requests a second per app):
// a token bucket per application, one second of burst. Each OpenSpine process keeps its own
// buckets, so N processes behind a balancer allow up to N times the limit.

export type RateLimiter = { take(key: string, perSecond: number): boolean };

export function createRateLimiter(now: () => number = () => performance.now()): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, perSecond) {
      const time = now();
      const bucket = buckets.get(key) ?? { tokens: perSecond, at: time };
      bucket.tokens = Math.min(perSecond, bucket.tokens + ((time - bucket.at) / 1000) * perSecond);
      bucket.at = time;
      buckets.set(key, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}
