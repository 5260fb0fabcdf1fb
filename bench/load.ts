// Drives HTTP load with autocannon at a fixed number of connections for a fixed time, timing every
// response in an HDR histogram of microseconds (autocannon's own percentiles have no p95).
import autocannon from 'autocannon';
import { build } from 'hdr-histogram-js';
import { FHIR_JSON } from './seed.ts';
import type { BenchRequest } from './scenarios.ts';

export type LoadOptions = {
  url: string;
  token: string;
  connections: number;
  durationSeconds: number;
  next: () => BenchRequest;
};

export type LoadResult = {
  durationSeconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p95: number; p99: number; max: number };
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
};

export function driveLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        headers: { authorization: `Bearer ${options.token}`, accept: FHIR_JSON },
        requests: [
          {
            setupRequest: (request) => {
              const { method, path, body, headers } = options.next();
              const withHeaders = { ...request, method, path, headers: { ...request.headers, ...headers } };
              if (body === undefined) return withHeaders;
              return { ...withHeaders, body, headers: { ...withHeaders.headers, 'content-type': FHIR_JSON } };
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const requests = latencies.totalCount;
        const milliseconds = (percentile: number) => round(latencies.getValueAtPercentile(percentile) / 1000);
        resolve({
          durationSeconds: result.duration,
          requests,
          requestsPerSecond: Math.round(requests / result.duration),
          latencyMs: { mean: round(latencies.mean / 1000), p50: milliseconds(50), p95: milliseconds(95), p99: milliseconds(99), max: round(latencies.maxValue / 1000) },
          non2xx: result.non2xx,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
      latencies.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
    });
  });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
