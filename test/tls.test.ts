// The HTTPS listener (OPENSPINE_MESH_TLS_*): the same app over TLS beside the plain port, and with
// a CA set, mutual TLS: no client certificate, or one from another CA, is refused at the handshake;
// a certificate from the CA is served, and a MESH mailbox signs in only with a certificate that
// names it. Certificates are made for each run with openssl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { MESH_BASE } from '../src/mesh/index.ts';
import { ConfigError, loadConfig } from '../src/platform/config.ts';
import { listenTls, type TlsListener } from '../src/platform/http/tls.ts';
import { buildTestApp } from './support/app.ts';
import { auditRecords } from './support/audit.ts';
import { meshTester } from './support/mesh.ts';
import { freePort } from './support/ports.ts';
import { testSite } from './support/server-process.ts';

const run = promisify(execFile);
const folder = await mkdtemp(path.join(tmpdir(), 'openspine-tls-'));
after(() => rm(folder, { recursive: true, force: true }));

type KeyPair = { cert: string; key: string };
const file = (name: string) => path.join(folder, name);

/** A self-signed CA of this run. */
async function certificateAuthority(name: string): Promise<KeyPair> {
  const pair = { cert: file(`${name}.crt`), key: file(`${name}.key`) };
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', pair.key, '-out', pair.cert,
  ]);
  return pair;
}

/** A certificate signed by `ca`: a server's for 127.0.0.1, or a client's (a MESH client's CN, unless another is given). */
async function issued(ca: KeyPair, name: string, use: 'server' | 'client', commonName = use === 'server' ? '127.0.0.1' : `${name}.x26.api.mesh-client.nhs.uk`): Promise<KeyPair> {
  const pair = { cert: file(`${name}.crt`), key: file(`${name}.key`) };
  const request = file(`${name}.csr`);
  const extensions = file(`${name}.ext`);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${commonName}`, '-keyout', pair.key, '-out', request]);
  await writeFile(extensions, use === 'server' ? 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
  await run('openssl', ['x509', '-req', '-in', request, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(Date.now()), '-days', '1', '-extfile', extensions, '-out', pair.cert]);
  return pair;
}

const ca = await certificateAuthority('test-ca');
const otherCa = await certificateAuthority('other-ca');
const serverPair = await issued(ca, 'server', 'server');
const goodClient = await issued(ca, 'goodclient', 'client');
const strangerClient = await issued(otherCa, 'stranger', 'client');

type Answer = { status: number; body: string };

/** GET over HTTPS trusting the test CA, with a client certificate or none; rejects when the connection is refused. */
function get(url: string, client?: KeyPair, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, {
      headers,
      ca: readPem(ca.cert),
      ...(client === undefined ? {} : { cert: readPem(client.cert), key: readPem(client.key) }),
      agent: false,
    }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => (body += text));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

const readPem = (name: string) => readFileSync(name, 'utf8');

const t = await buildTestApp();
await t.app.listen({ port: 0, host: '127.0.0.1' });
const listeners: TlsListener[] = [];
after(() => Promise.all(listeners.map((listener) => listener.close())));
const listen = async (caFile: string | undefined) => {
  const listener = await listenTls(t.app, { port: 0, certFile: serverPair.cert, keyFile: serverPair.key, caFile }, '127.0.0.1');
  listeners.push(listener);
  return listener;
};
const PING = `${MESH_BASE}/_ping`;

test('without a CA: the app is served over HTTPS, to clients with no certificate', async () => {
  const listener = await listen(undefined);
  const answer = await get(`${listener.url}${PING}`);
  assert.equal(answer.status, 200);
  assert.equal((JSON.parse(answer.body) as { status?: string }).status, 'running');
});

test('with a CA: a client certificate of that CA is served; none, or one of another CA, is refused', async () => {
  const listener = await listen(ca.cert);
  const served = await get(`${listener.url}${PING}`, goodClient);
  assert.equal(served.status, 200);
  await assert.rejects(get(`${listener.url}${PING}`), refusedHandshake, 'a client without a certificate');
  await assert.rejects(get(`${listener.url}${PING}`, strangerClient), refusedHandshake, 'a client whose certificate another CA signed');
});

test('over mutual TLS, a mailbox signs in only with a certificate naming it, <mailbox>.<its ODS code>.api.mesh-client.nhs.uk; refused as a bad token is, and audited', async () => {
  const mesh = meshTester(t);
  const [a, b] = await mesh.mailboxes(2, 'X26');
  assert.ok(a && b);
  const client = (name: string, commonName: string) => issued(ca, name, 'client', commonName);
  const [forA, forALowerCase] = await Promise.all([client('mailbox-a', `${a}.X26.api.mesh-client.nhs.uk`), client('mailbox-a-lower', `${a.toLowerCase()}.x26.API.Mesh-Client.nhs.uk`)]);
  // Not in the MESH form, or naming another organisation than the mailbox's (X26).
  const misnamed = [a, `${a}.Y99.api.mesh-client.nhs.uk`, `${a}.X26.api.mesh-client.example.org`, `${a}.X26.api.mesh-client.nhs.uk.example.org`, `server.${a}.X26.api.mesh-client.nhs.uk`];
  const misnamedClients = await Promise.all(misnamed.map((commonName, index) => client(`misnamed-${index}`, commonName)));
  const mutual = await listen(ca.cert);
  const signIn = (as: string, certificate: KeyPair, headers: Record<string, string> = {}) =>
    get(`${mutual.url}${MESH_BASE}/${as}/count`, certificate, { authorization: mesh.authorization(as), ...headers });

  assert.equal((await signIn(a, forA)).status, 200, 'A\'s certificate signs in as A');
  assert.equal((await signIn(a, forALowerCase)).status, 200, 'names compared case-insensitively');
  const badPassword = await get(`${mutual.url}${MESH_BASE}/${a}/count`, forA, { authorization: mesh.authorization(a, { password: 'wrong' }) });
  assert.equal(badPassword.status, 403);
  const requestId = randomUUID();
  const refused = await signIn(b, forA, { 'x-request-id': requestId });
  assert.deepEqual(refused, badPassword, 'A\'s certificate signing in as B: refused as a bad token is');
  const audited = (await auditRecords(t.db)).find((record) => record.requestId === requestId);
  assert.deepEqual(audited && [audited.outcome, audited.detail], ['denied', '403: Invalid Authentication Token']);
  for (const [index, certificate] of misnamedClients.entries()) assert.deepEqual(await signIn(a, certificate), badPassword, misnamed[index]);

  // Without a client certificate (no CA, or the plain port) there is no name to check.
  assert.equal((await get(`${(await listen(undefined)).url}${MESH_BASE}/${b}/count`, undefined, { authorization: mesh.authorization(b) })).status, 200);
  const { port } = t.app.server.address() as AddressInfo;
  assert.equal((await fetch(`http://127.0.0.1:${port}${MESH_BASE}/${b}/count`, { headers: { authorization: mesh.authorization(b) } })).status, 200);
});

/**
 * The server ended the handshake: a TLS alert from it (certificate required, unknown CA) or the
 * connection reset; never the client's own doubt about the server's certificate.
 */
function refusedHandshake(error: unknown): boolean {
  const { code } = error as NodeJS.ErrnoException;
  return code === 'ECONNRESET' || /^ERR_SSL_TLSV1\d?_ALERT_(CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|HANDSHAKE_FAILURE)$/.test(code ?? '');
}

test('the TLS settings: a port needs a certificate and key; files without a port are refused', () => {
  const env = { OPENSPINE_MESH_TLS_PORT: '7443', OPENSPINE_MESH_TLS_CERT: 'server.crt', OPENSPINE_MESH_TLS_KEY: 'server.key' };
  assert.deepEqual(loadConfig({}, env).meshTls, { port: 7443, certFile: path.resolve('server.crt'), keyFile: path.resolve('server.key'), caFile: undefined });
  assert.equal(loadConfig({}, { ...env, OPENSPINE_MESH_TLS_CA: 'ca.crt' }).meshTls?.caFile, path.resolve('ca.crt'));
  assert.equal(loadConfig({}, {}).meshTls, undefined);
  assert.throws(() => loadConfig({}, { OPENSPINE_MESH_TLS_PORT: '7443', OPENSPINE_MESH_TLS_CERT: 'server.crt' }), (error: unknown) => error instanceof ConfigError && /OPENSPINE_MESH_TLS_KEY/.test(error.message));
  assert.throws(() => loadConfig({}, { OPENSPINE_MESH_TLS_CA: 'ca.crt' }), /OPENSPINE_MESH_TLS_PORT/);
  assert.throws(() => loadConfig({}, { ...env, OPENSPINE_MESH_TLS_PORT: 'https' }), /OPENSPINE_MESH_TLS_PORT/);
});

test('openspine start serves both ports, and SIGTERM stops both, an idle keep-alive connection on the TLS port holding nothing up', { timeout: 60_000 }, async (context) => {
  const { site, start } = await testSite(context);
  const tlsPort = await freePort();
  const server = await start({
    OPENSPINE_MESH_TLS_PORT: String(tlsPort), OPENSPINE_MESH_TLS_CERT: serverPair.cert, OPENSPINE_MESH_TLS_KEY: serverPair.key, OPENSPINE_MESH_TLS_CA: ca.cert,
  });
  const tlsUrl = `https://127.0.0.1:${tlsPort}`;
  assert.equal((await get(`${tlsUrl}/_status`, goodClient)).status, 200);
  await assert.rejects(get(`${tlsUrl}/_status`), refusedHandshake);
  assert.equal((await fetch(`${site.baseUrl}${PING}`)).status, 200, 'the plain port still serves');

  // A keep-alive connection left open on the TLS port must not hold the stop up.
  const agent = new https.Agent({ keepAlive: true, ca: readPem(ca.cert), cert: readPem(goodClient.cert), key: readPem(goodClient.key) });
  context.after(() => agent.destroy());
  await new Promise<void>((resolve, reject) => https.get(`${tlsUrl}${PING}`, { agent }, (response) => response.resume().on('end', resolve)).on('error', reject));
  await server.stop();
  assert.equal(server.exitCode(), 0, server.output());
  await assert.rejects(get(`${tlsUrl}${PING}`, goodClient), (error: unknown) => (error as NodeJS.ErrnoException).code === 'ECONNREFUSED');
});
