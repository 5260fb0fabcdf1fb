// The EPS scenario, driven by a loop of its own: complete prescription lifecycles (prepare, order,
// release, dispense, claim), each call with a fresh X-Request-ID. Each bundle is signed over the
// digest $prepare answers for it, as a prescribing system would, before the run. As many workers
// as connections, each running one lifecycle after another; every answer's status checked.
import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import type { Histogram } from 'hdr-histogram-js';
import { DEMO_PRESCRIBER_CERTIFICATE, DEMO_PRESCRIBER_PRIVATE_KEY, EPS_BASE } from '../src/eps/index.ts';
import { prepareParameters, signDigest, withProvenance } from '../src/eps/signature.ts';
import { EXAMPLE_ID, EXAMPLE_PATIENT, EXAMPLES, freshPrescription, loadExample, releaseParameters, type Staff } from '../src/eps/test-kit.ts';
import { measureCpu, type CpuShare } from './cpu.ts';
import { latencyHistogram, p99Checks, recordSince, round, summary, type LatencySummary, type TargetCheck } from './latency.ts';
import type { BenchServer } from './server.ts';

/** `onMeasuredRun`: called as the measured run starts, after the warmup. */
export type EpsBenchOptions = { connections: number; duration: number; warmup: number; onMeasuredRun?: () => Promise<void> };

/** The issue's targets (EPS issue 6): 300 complete lifecycles a second, each call's p99 under 50 ms. */
const TARGET = { lifecyclesPerSecond: 300, p99Ms: 50 };
const FAILURES_KEPT = 5;
/** Prescriptions made and signed before the run, per second of it: more than the run can use, where it can. */
const AHEAD_PER_SECOND = 1.5 * TARGET.lifecyclesPerSecond;
const REQUEST_TIMEOUT_MS = 30_000;

export const EPS_CALLS = ['prepare', 'order', 'release', 'dispense', 'claim'] as const;
type EpsCall = (typeof EPS_CALLS)[number];

/** The demo GP (with the demo prescriber certificate) at A83008, and the demo pharmacist at FCG71 (src/identity/seed.ts). */
const GP = { userId: '555000000001', roleProfileId: '555000000101', ods: 'A83008' };
const PHARMACIST = { userId: '555000000003', roleProfileId: '555000000103', ods: 'FCG71' };

/** The spec's examples each lifecycle is made from: an acute nominated prescription, its full dispense notification and its claim. */
const ORDER_EXAMPLE = 'primary-care/acute/nominated-pharmacy/medical-prescriber/1-Process-Request-Send-200_OK.json';
const DISPENSE_EXAMPLE = 'spec/dispensing/dispense-notification/acute-primary-example-03-req.json';
const CLAIM_EXAMPLE = 'spec/dispensing/claim/acute-primary-example-req.json';
/** What the dispense and claim examples name besides the prescription and patient (EXAMPLE_ID, EXAMPLE_PATIENT), replaced in each lifecycle. */
const DISPENSE_MESSAGE_ID = 'b240434e-cb85-40bb-899c-1c61410c93a7';
const CLAIM_ID = '737dcf8d-fc7a-436d-b692-7d3c4f258083';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPOSITORY, 'src/cli/main.ts');

export type EpsLifecycleReport = {
  scenario: 'eps-lifecycle';
  description: string;
  workers: number;
  warmupSeconds: number;
  durationSeconds: number;
  lifecycles: number;
  lifecyclesPerSecond: number;
  callsPerSecond: number;
  /** Milliseconds, per call, with each call's own rate. */
  calls: Record<EpsCall, LatencySummary & { perSecond: number }>;
  failures: number;
  failureSamples: string[];
  targets: TargetCheck[];
  cpuPercentOfOneCore: CpuShare;
};

export function describeEpsScenario(options: EpsBenchOptions): string {
  return `complete acute prescription lifecycles ($prepare and order as the demo GP at ${GP.ods}, signed with the demo key; release by id, dispense notification and claim as the demo pharmacist at ${PHARMACIST.ods}), ${options.connections} workers`;
}

type Answer = { status: number; body: string };
/** A prescription ready to send: its $prepare body, the digest $prepare should answer, and the signed order. */
type Prescription = { shortId: string; nhsNumber: string; digest: string; prepareBody: string; orderBody: string };

/** Keep-alive HTTP to the server: node's own client, lighter than fetch on a machine the server shares. */
function client(baseUrl: string, connections: number) {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const post = (pathname: string, headers: Record<string, string>, body: string) =>
    new Promise<Answer>((resolve, reject) => {
      const request = http.request(
        { host: url.hostname, port: url.port, path: pathname, method: 'POST', agent, timeout: REQUEST_TIMEOUT_MS, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** A token for one of the demo users, from the server's CLI, as bench/server.ts gets its own. */
async function demoToken(server: BenchServer, user: { userId: string; roleProfileId: string }): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'token', '--user', user.userId, '--role', user.roleProfileId, '--lifetime', '86400'], { cwd: REPOSITORY, env: server.env });
  const token = stdout.trim().split('\n').pop();
  if (!token) throw new Error('`openspine token` printed no token');
  return token;
}


export async function runEpsScenario(server: BenchServer, options: EpsBenchOptions): Promise<EpsLifecycleReport> {
  const gpToken = server.tokens['healthcare-worker'];
  const pharmacistToken = await demoToken(server, PHARMACIST);
  const http = client(server.url, options.connections);
  // freshPrescription wants the prescriber as the tests make them; it reads only their ids and ODS code.
  const prescriber: Staff = {
    ...GP,
    actor: { mode: 'healthcare-worker', userId: GP.userId, roleProfileId: GP.roleProfileId, activityCodes: [] },
    headers: {},
  };
  // Parsed once: signing with a key object costs the load generator half what a PEM string does.
  const signingKey = createPrivateKey(DEMO_PRESCRIBER_PRIVATE_KEY);
  const orderTemplate = loadExample<Bundle>(ORDER_EXAMPLE);
  const dispenseTemplate = readFileSync(path.join(EXAMPLES, DISPENSE_EXAMPLE), 'utf8');
  const claimTemplate = readFileSync(path.join(EXAMPLES, CLAIM_EXAMPLE), 'utf8');
  const headersOf = (token: string, roleProfileId: string) => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/fhir+json',
    accept: 'application/fhir+json',
    'nhsd-session-urid': roleProfileId,
    'x-request-id': randomUUID(),
  });
  const failures: string[] = [];
  let failureCount = 0;

  /**
   * What a prescribing system does on its own machine, done before the run so that it does not
   * take the server's CPU here: a fresh prescription, and its signature over the digest that
   * $prepare will answer (the same function computes it). The run still calls $prepare and checks
   * its digest is the one signed.
   */
  const prescribeAhead = (): Prescription => {
    const fresh = freshPrescription(orderTemplate, prescriber, { nominatedOds: PHARMACIST.ods });
    const digest = prepareParameters(fresh.bundle, new Date()).parameter.find((parameter) => parameter.name === 'digest')?.valueString ?? '';
    const signed = withProvenance(fresh.bundle, signDigest(digest, signingKey, DEMO_PRESCRIBER_CERTIFICATE), new Date().toISOString());
    return { shortId: fresh.shortId, nhsNumber: fresh.nhsNumber, digest, prepareBody: JSON.stringify(fresh.bundle), orderBody: JSON.stringify(signed) };
  };
  const ahead: Prescription[] = [];
  const nextPrescription = () => ahead.pop() ?? prescribeAhead();

  const oneLifecycle = async (latencies?: Record<EpsCall, Histogram>) => {
    const timed = async (call: EpsCall, as: 'gp' | 'pharmacist', pathname: string, body: string): Promise<string> => {
      const headers = as === 'gp' ? headersOf(gpToken, GP.roleProfileId) : headersOf(pharmacistToken, PHARMACIST.roleProfileId);
      const started = performance.now();
      const answer = await http.post(`${EPS_BASE}${pathname}`, headers, body);
      if (latencies) recordSince(latencies[call], started);
      if (answer.status !== 200) throw new Error(`${call}: HTTP ${answer.status} instead of 200: ${answer.body.slice(0, 400)}`);
      return answer.body;
    };
    const fresh = nextPrescription();
    const prepared = JSON.parse(await timed('prepare', 'gp', '/$prepare', fresh.prepareBody)) as Parameters;
    const digest = prepared.parameter?.find((parameter) => parameter.name === 'digest')?.valueString;
    if (digest !== fresh.digest) throw new Error(`prepare: the digest answered is not the one the prescription was signed over: ${digest ?? 'none'}`);
    await timed('order', 'gp', '/$process-message', fresh.orderBody);
    const released = await timed('release', 'pharmacist', '/Task/$release', JSON.stringify(releaseParameters(PHARMACIST.ods, fresh.shortId)));
    if (!released.includes(fresh.shortId)) throw new Error(`release: ${fresh.shortId} is not in the answer: ${released.slice(0, 400)}`);
    const ours = (template: string, messageId: string, id: string) =>
      template.replaceAll(EXAMPLE_ID, fresh.shortId).replaceAll(EXAMPLE_PATIENT, fresh.nhsNumber).replaceAll(messageId, id);
    await timed('dispense', 'pharmacist', '/$process-message', ours(dispenseTemplate, DISPENSE_MESSAGE_ID, randomUUID()));
    await timed('claim', 'pharmacist', '/Claim', ours(claimTemplate, CLAIM_ID, randomUUID()));
  };

  const drive = async (seconds: number, latencies?: Record<EpsCall, Histogram>) => {
    const until = performance.now() + seconds * 1000;
    let lifecycles = 0;
    await Promise.all(Array.from({ length: options.connections }, async () => {
      while (performance.now() < until) {
        try {
          await oneLifecycle(latencies);
          lifecycles++;
        } catch (error) {
          failureCount++;
          if (failures.length < FAILURES_KEPT) failures.push((error as Error).message);
        }
      }
    }));
    return lifecycles;
  };

  try {
    // Checked before anything is measured, so that a fast wrong answer is never a figure.
    await oneLifecycle();
    const needed = Math.ceil(AHEAD_PER_SECOND * (options.warmup + options.duration));
    process.stdout.write(`  signing ${needed} prescriptions ahead, as prescribing systems do on their own machines\n`);
    for (let count = 0; count < needed; count++) ahead.push(prescribeAhead());
    if (options.warmup > 0) await drive(options.warmup);
    failureCount = 0;
    failures.length = 0;
    const latencies = { prepare: latencyHistogram(), order: latencyHistogram(), release: latencyHistogram(), dispense: latencyHistogram(), claim: latencyHistogram() };
    await options.onMeasuredRun?.();
    const cpu = measureCpu(server.pid, server.dataDir);
    const started = performance.now();
    const lifecycles = await drive(options.duration, latencies);
    const seconds = (performance.now() - started) / 1000;
    const cpuShare = cpu();
    const calls = Object.fromEntries(EPS_CALLS.map((call) => [call, { ...summary(latencies[call]), perSecond: Math.round(latencies[call].totalCount / seconds) }])) as EpsLifecycleReport['calls'];
    const lifecyclesPerSecond = Math.round(lifecycles / seconds);
    return {
      scenario: 'eps-lifecycle',
      description: describeEpsScenario(options),
      workers: options.connections,
      warmupSeconds: options.warmup,
      durationSeconds: round(seconds),
      lifecycles,
      lifecyclesPerSecond,
      callsPerSecond: EPS_CALLS.reduce((sum, call) => sum + calls[call].perSecond, 0),
      calls,
      failures: failureCount,
      failureSamples: failures,
      targets: [
        { target: `>= ${TARGET.lifecyclesPerSecond} lifecycles/s`, measured: lifecyclesPerSecond, pass: lifecyclesPerSecond >= TARGET.lifecyclesPerSecond },
        ...p99Checks(EPS_CALLS, calls, TARGET.p99Ms),
      ],
      cpuPercentOfOneCore: cpuShare,
    };
  } finally {
    http.close();
  }
}

/** Lines for the terminal. */
export function epsReportLines(report: EpsLifecycleReport): string[] {
  const cpu = report.cpuPercentOfOneCore;
  return [
    `  ${report.workers} workers, ${report.durationSeconds} s: ${report.lifecycles} lifecycles, ${report.lifecyclesPerSecond} lifecycles/s (${report.callsPerSecond} calls/s); failures ${report.failures}`,
    '  call          count   req/s     mean     p50     p95     p99      max  (ms)',
    ...EPS_CALLS.map((call) => {
      const figures = report.calls[call];
      return `  ${call.padEnd(11)} ${String(figures.count).padStart(7)} ${String(figures.perSecond).padStart(7)}${[figures.mean, figures.p50, figures.p95, figures.p99, figures.max].map((ms) => ms.toFixed(1).padStart(8)).join('')}`;
    }),
    `  cpu (% of one core; the machine has ${cpus().length}): openspine ${cpu.openspine}%, postgres ${cpu.postgres ?? '?'}%, load generator ${cpu.loadGenerator}%, machine ${cpu.machine}%`,
    ...report.failureSamples.map((sample) => `  failure: ${sample}`),
    `  targets: ${report.targets.map((check) => `${check.target} ${check.pass ? 'PASS' : 'BELOW'} (${check.measured})`).join(', ')}`,
  ];
}

/** Whether every lifecycle went as it should; targets aside. */
export function epsRunHealthy(report: EpsLifecycleReport): boolean {
  return report.failures === 0;
}
