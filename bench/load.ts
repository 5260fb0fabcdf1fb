// Drives HTTP load with autocannon at a fixed number of connections for a fixed time, timing every
// response in an HDR histogram of microseconds (autocannon's own percentiles have no p95).
import autocannon from 'autocannon';
import { latencyHistogram, summary } from './latency.ts';
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
  const latencies = latencyHistogram();
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
        const { count: requests, ...latencyMs } = summary(latencies);
        resolve({
          durationSeconds: result.duration,
          requests,
          requestsPerSecond: Math.round(requests / result.duration),
          latencyMs,
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
