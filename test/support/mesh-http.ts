// A MESH client over real HTTP, as a supplier's would be: every request signed with a fresh NHSMESH
// token, connections kept alive, bodies streamed up and hashed on the way down (never held whole).
// For the tests that run the real server (test/mesh-crash.test.ts) and for the bench (bench/mesh.ts).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { meshAuthorization } from '../../src/mesh/auth.ts';
import { MESH } from './mesh.ts';

/** Bodies up to this size are kept as well as hashed (JSON answers, small messages). */
const KEPT_BYTES = 1024 * 1024;

export type MeshAnswer = {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body, when it was at most KEPT_BYTES. */
  body: Buffer | undefined;
  sha256: string;
  bytes: number;
};

export type MeshRequest = {
  method: 'GET' | 'POST' | 'PUT' | 'HEAD';
  /** Under /messageexchange, e.g. `/X26ABC1/inbox`. */
  path: string;
  /** The mailbox whose token signs the request. */
  mailboxId: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  timeoutMs?: number;
};

export type MeshHttpClient = {
  request(request: MeshRequest): Promise<MeshAnswer>;
  /** The body of a JSON answer. */
  json<T>(answer: MeshAnswer): T;
  close(): void;
};

export function meshHttpClient(options: { baseUrl: string; sharedKey: string; password: string; connections: number }): MeshHttpClient {
  const base = new URL(options.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const request = (call: MeshRequest) => new Promise<MeshAnswer>((resolve, reject) => {
    const headers: Record<string, string> = {
      authorization: meshAuthorization(call.mailboxId, options.password, { sharedKey: options.sharedKey }),
      ...call.headers,
    };
    if (Buffer.isBuffer(call.body)) headers['content-length'] = String(call.body.length);
    const outgoing = http.request({ host: base.hostname, port: base.port, method: call.method, path: `${MESH}${call.path}`, headers, agent }, (response) => {
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let bytes = 0;
      response.on('data', (piece: Buffer) => {
        hash.update(piece);
        bytes += piece.length;
        if (bytes <= KEPT_BYTES) kept.push(piece);
      });
      response.on('end', () => resolve({
        status: response.statusCode ?? 0, headers: response.headers, body: bytes <= KEPT_BYTES ? Buffer.concat(kept) : undefined, sha256: hash.digest('hex'), bytes,
      }));
      response.on('error', reject);
      response.on('aborted', () => reject(new Error(`${call.method} ${call.path}: the answer was cut off`)));
    });
    outgoing.on('error', reject);
    if (call.timeoutMs !== undefined) outgoing.setTimeout(call.timeoutMs, () => outgoing.destroy(new Error(`${call.method} ${call.path}: no answer within ${call.timeoutMs} ms`)));
    if (call.body === undefined) outgoing.end();
    else if (Buffer.isBuffer(call.body)) outgoing.end(call.body);
    else call.body.on('error', (error) => outgoing.destroy(error)).pipe(outgoing);
  });
  return {
    request,
    json: <T>(answer: MeshAnswer) => JSON.parse(answer.body?.toString('utf8') ?? 'null') as T,
    close: () => agent.destroy(),
  };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
