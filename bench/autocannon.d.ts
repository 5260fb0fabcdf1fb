// Types for the part of autocannon 9 the bench uses (the package ships none).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export type Request = {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Called before each request is sent; returns the request to send. */
    setupRequest?: (request: Request, context: Record<string, unknown>) => Request;
  };

  export type Options = {
    url: string;
    connections: number;
    /** Seconds. */
    duration: number;
    headers?: Record<string, string>;
    requests?: Request[];
  };

  export type Result = {
    /** Seconds from the first request to the end of the run. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
  };

  /** Emits 'response' (client, statusCode, bytes, responseTimeMs) for every response. */
  export type Instance = EventEmitter & { stop(): void };

  export default function autocannon(options: Options, callback: (error: Error | null, result: Result) => void): Instance;
}
