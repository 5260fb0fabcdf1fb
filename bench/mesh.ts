// The MESH scenarios, each driven by a loop of its own: every MESH request carries an NHSMESH token
// with a fresh nonce, which autocannon's fixed headers cannot give. mesh-small sends 1 KB messages
// end to end (send, list, download, acknowledge) from as many workers as connections; mesh-bulk
// sends one large chunked message up and then down, watching the server's memory.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Histogram } from 'hdr-histogram-js';
import { MAX_REQUEST_BYTES } from '../src/mesh/index.ts';
import { meshHttpClient, sha256, type MeshAnswer, type MeshHttpClient } from '../test/support/mesh-http.ts';
import { V2 } from '../test/support/mesh.ts';
import { measureCpu, type CpuShare } from './cpu.ts';
import { latencyHistogram, p99Checks, recordSince, round, summary, type LatencySummary, type TargetCheck } from './latency.ts';
import type { MeshScenarioName } from './scenarios.ts';
import type { BenchServer } from './server.ts';

/** `onMeasuredRun`: called as the measured run starts, after the warmup. */
export type MeshBenchOptions = { connections: number; duration: number; warmup: number; bulkMiB: number; onMeasuredRun?: () => Promise<void> };

const MiB = 1024 * 1024;
const SMALL_MESSAGE_BYTES = 1024;
const PASSWORD = 'bench-mailbox-password';
/** The issue's targets (bench issue 5): 1,000 small messages/s with each call's p99 under 50 ms; 100 MB/s each way. */
const SMALL_TARGET = { messagesPerSecond: 1000, p99Ms: 50 };
const BULK_TARGET_MB_PER_S = 100;
/** The stated memory bound of mesh-bulk: the server grows by less than this while the message goes up and down. */
const BULK_MEMORY_BOUND_MIB = 128;
const FAILURES_KEPT = 5;

export const MESH_CALLS = ['send', 'list', 'download', 'acknowledge'] as const;
type MeshCall = (typeof MESH_CALLS)[number];

export type MeshSmallReport = {
  scenario: 'mesh-small';
  description: string;
  workers: number;
  durationSeconds: number;
  messages: number;
  messagesPerSecond: number;
  /** Milliseconds, per call. */
  calls: Record<MeshCall, LatencySummary>;
  failures: number;
  failureSamples: string[];
  targets: TargetCheck[];
  cpuPercentOfOneCore: CpuShare;
};

export type MeshBulkReport = {
  scenario: 'mesh-bulk';
  description: string;
  bytes: number;
  chunks: number;
  upload: TransferFigures;
  download: TransferFigures;
  /** The server's resident memory in MiB: before the upload, at its highest during each way, and its VmHWM (highest since it started). */
  serverRssMiB: { before: number; peakUploading: number; peakDownloading: number; highWaterMark: number };
  boundMiB: number;
  intact: boolean;
  targets: TargetCheck[];
};

type TransferFigures = { seconds: number; megabytesPerSecond: number; mebibytesPerSecond: number; cpuPercentOfOneCore: CpuShare };

export type MeshReport = MeshSmallReport | MeshBulkReport;

export async function runMeshScenario(server: BenchServer, name: MeshScenarioName, options: MeshBenchOptions): Promise<MeshReport> {
  const client = meshHttpClient({ baseUrl: server.url, sharedKey: server.meshSharedKey, password: PASSWORD, connections: options.connections });
  try {
    return name === 'mesh-small' ? await runSmall(server, client, options) : await runBulk(server, client, options.bulkMiB);
  } finally {
    client.close();
  }
}

export function describeMeshScenario(name: MeshScenarioName, options: MeshBenchOptions): string {
  return name === 'mesh-small'
    ? `${SMALL_MESSAGE_BYTES} B messages end to end (send, list inbox, download, acknowledge), ${options.connections} workers each with its own pair of mailboxes`
    : `one ${options.bulkMiB} MiB message in chunks of at most ${MAX_REQUEST_BYTES / MiB} MiB, uploaded then downloaded, chunk after chunk`;
}

type Pair = { sender: string; recipient: string; workflowId: string };

/** Mailboxes through the admin API, `count` senders and recipients and one workflow between them. */
async function createPairs(server: BenchServer, count: number, label: string): Promise<Pair[]> {
  const admin = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}/mesh-admin/v1${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`PUT /mesh-admin/v1${path}: ${response.status} ${await response.text()}`);
  };
  const workflowId = `BENCH_${label.toUpperCase()}`;
  const pairs = Array.from({ length: count }, (_, index) => ({ sender: `B${label}${index}S`.toUpperCase(), recipient: `B${label}${index}R`.toUpperCase(), workflowId }));
  for (const mailboxId of pairs.flatMap((pair) => [pair.sender, pair.recipient])) {
    await admin(`/mailboxes/${mailboxId}`, { mailbox_name: `Bench ${mailboxId}`, ods_code: 'BENCH', password: PASSWORD });
  }
  await admin(`/workflows/${workflowId}`, { senders: pairs.map((pair) => pair.sender), receivers: pairs.map((pair) => pair.recipient) });
  return pairs;
}


async function runSmall(server: BenchServer, client: MeshHttpClient, options: MeshBenchOptions): Promise<MeshSmallReport> {
  const pairs = await createPairs(server, options.connections, 'small');
  const payload = randomBytes(SMALL_MESSAGE_BYTES);
  const payloadHash = sha256(payload);
  const failures: string[] = [];
  let failureCount = 0;

  /** One message end to end; each call timed into `latencies` when given. */
  const oneMessage = async (pair: Pair, latencies?: Record<MeshCall, Histogram>) => {
    const timed = async (call: MeshCall, request: Parameters<MeshHttpClient['request']>[0], expected: number, check?: (answer: MeshAnswer) => string | undefined) => {
      const started = performance.now();
      const answer = await client.request({ ...request, headers: { accept: V2, ...request.headers } });
      if (latencies) recordSince(latencies[call], started);
      const problem = answer.status === expected ? check?.(answer) : `HTTP ${answer.status} instead of ${expected}: ${answer.body?.toString('utf8').slice(0, 200)}`;
      if (problem !== undefined) throw new Error(`${call}: ${problem}`);
      return answer;
    };
    const sent = await timed('send', {
      method: 'POST', path: `/${pair.sender}/outbox`, mailboxId: pair.sender, body: payload,
      headers: { 'mex-to': pair.recipient, 'mex-workflowid': pair.workflowId, 'content-type': 'application/octet-stream' },
    }, 202);
    const messageId = client.json<{ message_id: string }>(sent).message_id;
    await timed('list', { method: 'GET', path: `/${pair.recipient}/inbox`, mailboxId: pair.recipient }, 200, (answer) =>
      client.json<{ messages: string[] }>(answer).messages.includes(messageId) ? undefined : `${messageId} is not in the inbox`);
    await timed('download', { method: 'GET', path: `/${pair.recipient}/inbox/${messageId}`, mailboxId: pair.recipient }, 200, (answer) =>
      answer.sha256 === payloadHash ? undefined : `${answer.bytes} bytes, not the ones sent`);
    await timed('acknowledge', { method: 'PUT', path: `/${pair.recipient}/inbox/${messageId}/status/acknowledged`, mailboxId: pair.recipient }, 200);
  };

  const drive = async (seconds: number, latencies?: Record<MeshCall, Histogram>) => {
    const until = performance.now() + seconds * 1000;
    let messages = 0;
    await Promise.all(pairs.map(async (pair) => {
      while (performance.now() < until) {
        try {
          await oneMessage(pair, latencies);
          messages++;
        } catch (error) {
          failureCount++;
          if (failures.length < FAILURES_KEPT) failures.push((error as Error).message);
        }
      }
    }));
    return messages;
  };

  // Checked before anything is measured, so that a fast wrong answer is never a figure.
  await oneMessage(pairs[0] ?? fail('no mailboxes'));
  if (options.warmup > 0) await drive(options.warmup);
  failureCount = 0;
  failures.length = 0;
  const latencies = { send: latencyHistogram(), list: latencyHistogram(), download: latencyHistogram(), acknowledge: latencyHistogram() };
  await options.onMeasuredRun?.();
  const cpu = measureCpu(server.pid, server.dataDir);
  const started = performance.now();
  const messages = await drive(options.duration, latencies);
  const seconds = (performance.now() - started) / 1000;
  const calls = Object.fromEntries(MESH_CALLS.map((call) => [call, summary(latencies[call])])) as Record<MeshCall, LatencySummary>;
  const messagesPerSecond = Math.round(messages / seconds);
  return {
    scenario: 'mesh-small',
    description: describeMeshScenario('mesh-small', options),
    workers: pairs.length,
    durationSeconds: round(seconds),
    messages,
    messagesPerSecond,
    calls,
    failures: failureCount,
    failureSamples: failures,
    targets: [
      { target: `>= ${SMALL_TARGET.messagesPerSecond} messages/s`, measured: messagesPerSecond, pass: messagesPerSecond >= SMALL_TARGET.messagesPerSecond },
      ...p99Checks(MESH_CALLS, calls, SMALL_TARGET.p99Ms),
    ],
    cpuPercentOfOneCore: cpu(),
  };
}

/** A random MiB, stamped in each copy with its chunk and place, so that no two MiB of the message are alike. */
const BLOCK = randomBytes(MiB);
function chunkContent(chunk: number, bytes: number, hash: ReturnType<typeof createHash>): Readable {
  return Readable.from((function* () {
    for (let offset = 0; offset < bytes; offset += MiB) {
      const block = Buffer.from(BLOCK.subarray(0, Math.min(MiB, bytes - offset)));
      block.writeUInt32BE(chunk, 0);
      block.writeUInt32BE(offset / MiB, 4);
      hash.update(block);
      yield block;
    }
  })(), { objectMode: false });
}

async function runBulk(server: BenchServer, client: MeshHttpClient, totalMiB: number): Promise<MeshBulkReport> {
  const [pair] = await createPairs(server, 1, 'bulk');
  if (pair === undefined) throw new Error('no mailboxes');
  const bytes = totalMiB * MiB;
  const chunkSizes: number[] = [];
  for (let left = bytes; left > 0; left -= MAX_REQUEST_BYTES) chunkSizes.push(Math.min(MAX_REQUEST_BYTES, left));
  const chunks = chunkSizes.length;
  const memory = watchMemory(server.pid);
  const before = memory.current();

  let cpu = measureCpu(server.pid, server.dataDir);
  let started = performance.now();
  const sentHashes: string[] = [];
  let messageId = '';
  for (const [index, size] of chunkSizes.entries()) {
    const chunk = index + 1;
    const hash = createHash('sha256');
    const headers = { accept: V2, 'content-type': 'application/octet-stream', 'content-length': String(size), 'mex-chunk-range': `${chunk}:${chunks}` };
    const answer = chunk === 1
      ? await client.request({ method: 'POST', path: `/${pair.sender}/outbox`, mailboxId: pair.sender, body: chunkContent(chunk, size, hash), headers: { ...headers, 'mex-to': pair.recipient, 'mex-workflowid': pair.workflowId } })
      : await client.request({ method: 'POST', path: `/${pair.sender}/outbox/${messageId}/${chunk}`, mailboxId: pair.sender, body: chunkContent(chunk, size, hash), headers });
    if (answer.status !== 202) throw new Error(`chunk ${chunk} of ${chunks}: HTTP ${answer.status} ${answer.body?.toString('utf8').slice(0, 300)}`);
    if (chunk === 1) messageId = client.json<{ message_id: string }>(answer).message_id;
    sentHashes.push(hash.digest('hex'));
  }
  const upload = transfer(bytes, started, cpu());
  const peakUploading = memory.peakSinceLastAsked();

  cpu = measureCpu(server.pid, server.dataDir);
  started = performance.now();
  let intact = true;
  for (let chunk = 1; chunk <= chunks; chunk++) {
    const answer = await client.request({ method: 'GET', path: `/${pair.recipient}/inbox/${messageId}${chunk === 1 ? '' : `/${chunk}`}`, mailboxId: pair.recipient, headers: { accept: V2 } });
    if (answer.status !== (chunk < chunks ? 206 : 200)) throw new Error(`download of chunk ${chunk} of ${chunks}: HTTP ${answer.status}`);
    if (answer.sha256 !== sentHashes[chunk - 1] || answer.bytes !== chunkSizes[chunk - 1]) intact = false;
  }
  const download = transfer(bytes, started, cpu());
  const peakDownloading = memory.peakSinceLastAsked();
  const highWaterMark = memory.highWaterMark();
  memory.stop();

  const serverRssMiB = { before, peakUploading, peakDownloading, highWaterMark };
  const growth = Math.max(peakUploading, peakDownloading) - before;
  return {
    scenario: 'mesh-bulk',
    description: describeMeshScenario('mesh-bulk', { connections: 1, duration: 0, warmup: 0, bulkMiB: totalMiB }),
    bytes,
    chunks,
    upload,
    download,
    serverRssMiB,
    boundMiB: BULK_MEMORY_BOUND_MIB,
    intact,
    targets: [
      { target: `upload >= ${BULK_TARGET_MB_PER_S} MB/s`, measured: upload.megabytesPerSecond, pass: upload.megabytesPerSecond >= BULK_TARGET_MB_PER_S },
      { target: `download >= ${BULK_TARGET_MB_PER_S} MB/s`, measured: download.megabytesPerSecond, pass: download.megabytesPerSecond >= BULK_TARGET_MB_PER_S },
      { target: `server rss growth < ${BULK_MEMORY_BOUND_MIB} MiB`, measured: round(growth), pass: growth < BULK_MEMORY_BOUND_MIB },
    ],
  };
}

function transfer(bytes: number, started: number, cpu: CpuShare): TransferFigures {
  const seconds = (performance.now() - started) / 1000;
  return { seconds: round(seconds), megabytesPerSecond: round(bytes / 1e6 / seconds), mebibytesPerSecond: round(bytes / MiB / seconds), cpuPercentOfOneCore: cpu };
}

/** The server's VmRSS sampled every 20 ms (MiB), and its VmHWM, from /proc/<pid>/status. */
function watchMemory(pid: number) {
  const read = (field: 'VmRSS' | 'VmHWM') => {
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return round(Number(kib) / 1024);
  };
  let peak = read('VmRSS');
  const sampler = setInterval(() => (peak = Math.max(peak, read('VmRSS'))), 20);
  return {
    current: () => read('VmRSS'),
    peakSinceLastAsked: () => {
      const highest = Math.max(peak, read('VmRSS'));
      peak = read('VmRSS');
      return highest;
    },
    highWaterMark: () => read('VmHWM'),
    stop: () => clearInterval(sampler),
  };
}

/** Lines for the terminal. */
export function meshReportLines(report: MeshReport): string[] {
  const targets = `targets: ${report.targets.map((check) => `${check.target} ${check.pass ? 'PASS' : 'BELOW'} (${check.measured})`).join(', ')}`;
  if (report.scenario === 'mesh-small') {
    const cpu = report.cpuPercentOfOneCore;
    return [
      `  ${report.workers} workers, ${report.durationSeconds} s: ${report.messages} messages, ${report.messagesPerSecond} messages/s (${report.messagesPerSecond * MESH_CALLS.length} calls/s); failures ${report.failures}`,
      '  call          count     mean     p50     p95     p99      max  (ms)',
      ...MESH_CALLS.map((call) => {
        const figures = report.calls[call];
        return `  ${call.padEnd(11)} ${String(figures.count).padStart(7)} ${[figures.mean, figures.p50, figures.p95, figures.p99, figures.max].map((ms) => ms.toFixed(1).padStart(8)).join('')}`;
      }),
      `  cpu (% of one core): openspine ${cpu.openspine}%, postgres ${cpu.postgres ?? '?'}%, load generator ${cpu.loadGenerator}%, machine ${cpu.machine}%`,
      ...report.failureSamples.map((sample) => `  failure: ${sample}`),
      `  ${targets}`,
    ];
  }
  const way = (name: string, figures: TransferFigures) =>
    `  ${name}: ${figures.megabytesPerSecond} MB/s (${figures.mebibytesPerSecond} MiB/s) in ${figures.seconds} s; cpu openspine ${figures.cpuPercentOfOneCore.openspine}%, postgres ${figures.cpuPercentOfOneCore.postgres ?? '?'}%, client ${figures.cpuPercentOfOneCore.loadGenerator}%`;
  const rss = report.serverRssMiB;
  return [
    `  ${report.bytes / MiB} MiB in ${report.chunks} chunks; ${report.intact ? 'every chunk came back byte for byte' : 'CHUNKS CAME BACK DIFFERENT'}`,
    way('upload  ', report.upload),
    way('download', report.download),
    `  server rss: ${rss.before} MiB before, at most ${rss.peakUploading} uploading and ${rss.peakDownloading} downloading (VmHWM ${rss.highWaterMark} MiB since start)`,
    `  ${targets}`,
  ];
}

/** Whether the run went as it should (every request answered rightly); targets aside. */
export function meshRunHealthy(report: MeshReport): boolean {
  return report.scenario === 'mesh-small' ? report.failures === 0 : report.intact;
}

function fail(message: string): never {
  throw new Error(message);
}
