// What the scenarios that time their own calls (bench/mesh.ts, bench/eps.ts) and autocannon's
// (bench/load.ts) share: an HDR histogram of microseconds, its summary in milliseconds, and each
// call's p99 held to its target.
import { build, type Histogram } from 'hdr-histogram-js';

export type LatencySummary = { count: number; mean: number; p50: number; p95: number; p99: number; max: number };
export type TargetCheck = { target: string; measured: number; pass: boolean };

/** Microseconds from 1 µs to a minute, to three significant digits. */
export function latencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/** Records a call that started at `started` (performance.now()) and has just ended. */
export function recordSince(latencies: Histogram, started: number): void {
  latencies.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
}

export function summary(latencies: Histogram): LatencySummary {
  const ms = (microseconds: number) => round(microseconds / 1000);
  return {
    count: latencies.totalCount, mean: ms(latencies.mean), p50: ms(latencies.getValueAtPercentile(50)), p95: ms(latencies.getValueAtPercentile(95)),
    p99: ms(latencies.getValueAtPercentile(99)), max: ms(latencies.maxValue),
  };
}

/** One check per call: its p99 under `p99Ms`. */
export function p99Checks<Call extends string>(calls: readonly Call[], summaries: Record<Call, LatencySummary>, p99Ms: number): TargetCheck[] {
  return calls.map((call) => ({ target: `${call} p99 < ${p99Ms} ms`, measured: summaries[call].p99, pass: summaries[call].p99 < p99Ms }));
}

/** To two decimals, as the reports print figures. */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
