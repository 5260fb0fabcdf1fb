// An HTTPS listener for an app that already listens on its plain port: the same routes, hooks and
// handlers, reached over TLS, with client certificates required and verified when a CA is given
// (mutual TLS, as NHS MESH clients connect: ../shared/specs/README.md section 3), and the
// certificate of the request at hand for the services that check whom it names (clientCertificate).
import type { FastifyInstance } from 'fastify';
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TlsListenerConfig } from '../config.ts';

export type TlsListener = {
  url: string;
  /** Stops accepting connections and resolves once those open have finished their requests and closed. */
  close(): Promise<void>;
};

/** The connection of each request on a mutual TLS listener, for clientCertificate(). */
const mutualConnections = new AsyncLocalStorage<TLSSocket>();

/**
 * The client certificate of the current request, by its subject's common name, when the request
 * came over a mutual TLS listener (its certificate verified against the CA at the handshake);
 * undefined on the plain port, in process, or over TLS without a CA. `commonName` is undefined
 * when the subject has none or several, or the certificate cannot be read: a check of it fails.
 */
export function clientCertificate(): { commonName: string | undefined } | undefined {
  const socket = mutualConnections.getStore();
  if (socket === undefined) return undefined;
  const commonName: unknown = socket.getPeerCertificate().subject?.CN; // a field given twice is an array
  return { commonName: typeof commonName === 'string' ? commonName : undefined };
}

/** How often, while closing, connections that have fallen idle are closed (as the app does on its plain port). */
const IDLE_SWEEP_MS = 50;

/**
 * Serves `app` over HTTPS on `settings.port` of `host`. Call it after `app.listen` (the app must be
 * ready). Close it with the app: requests on its connections are the app's until they finish.
 */
export async function listenTls(app: FastifyInstance, settings: TlsListenerConfig, host: string): Promise<TlsListener> {
  const [cert, key, ca] = await Promise.all([readFile(settings.certFile), readFile(settings.keyFile), settings.caFile === undefined ? undefined : readFile(settings.caFile)]);
  const mutual = ca !== undefined;
  const server = https.createServer({
    cert,
    key,
    ...(mutual ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
    minVersion: 'TLSv1.2',
    // The plain port's timeouts (as Fastify set them), so that both ports behave alike.
    keepAliveTimeout: app.server.keepAliveTimeout,
    requestTimeout: app.server.requestTimeout,
    headersTimeout: app.server.headersTimeout,
  }, mutual
    ? (request, response) => mutualConnections.run(request.socket as TLSSocket, () => app.routing(request, response))
    : (request, response) => app.routing(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => (closed ??= new Promise<void>((resolve, reject) => {
      // close() refuses new connections and closes the idle ones; the app answers the rest with
      // `Connection: close` while it closes, and they are closed here as they fall idle.
      const idle = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      server.close((error) => {
        clearInterval(idle);
        if (error) reject(error);
        else resolve();
      });
    })),
  };
}
