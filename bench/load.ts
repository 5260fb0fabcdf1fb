// Drives HTTP load with autocannon at a fixed number of connections for a fixed time, timing every
// response in an HDR histogram of microseconds (autocannon's own percentiles have no p95).
import autocannon from 'autocannon';
import { latencyHistogram, summary } from './latency.ts';
import { FHIR_JSON } from './seed.ts';
import type { BenchRequest, Scenario } from './scenarios.ts';
import type { BenchServer } from './server.ts';

/** Requests of each scenario checked one by one before its run. */
const PREFLIGHT_REQUESTS = 3;

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

/** Sends a few of the scenario's requests one at a time and checks each answer, so a fast wrong answer is never measured. */
export async function preflight(server: BenchServer, scenario: Scenario): Promise<void> {
  for (let count = 0; count < PREFLIGHT_REQUESTS; count++) {
    const request = scenario.next();
    const response = await fetch(`${server.url}${request.path}`, {
      method: request.method,
      headers: { authorization: `Bearer ${server.tokens[scenario.caller]}`, ...request.headers, ...(request.body === undefined ? {} : { 'content-type': FHIR_JSON }) },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    const problem = scenario.problemWith(request, response.status, await response.text());
    if (problem) throw new Error(`${scenario.name}: ${request.method} ${request.path} answered wrongly: ${problem}`);
  }
}
