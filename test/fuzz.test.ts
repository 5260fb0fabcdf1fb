// Fuzz: thousands of random paths, headers and bodies (from a fixed seed, so a failure can be
// replayed). No answer may be a 5xx, every refusal is an OperationOutcome, and the server still answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { buildTestApp } from './support/app.ts';

const REQUESTS = 3000;
const SEED = 20261122;
const BASE = '/spine-directory/FHIR/R4';

/** mulberry32: a small seeded generator, so every run sends the same requests. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
const chance = (probability: number) => next() < probability;

const WEIRD = ['', ' ', '%00', '%', '..', '../..', '%2e%2e', '\u00e9', '\u{1F600}', "'; drop table fhir_resource; --", '<script>', 'x'.repeat(300), '-1', '0', '1e308', 'null', '[]', '{}', '*', '|', ',', '\\'];
const SEGMENTS = ['Organization', 'Device', 'Endpoint', 'Patient', '_history', '_search', '$validate', 'metadata', '1', 'a-b.c', ...WEIRD];
const PARAMS = ['identifier', 'name', 'name:exact', 'name:contains', 'name:missing', 'type', 'active', 'partof', '_id', '_lastUpdated', '_count', '_offset', '_sort', '_total', '_format', '_since', 'organization', ...WEIRD];
const VALUES = ['https://fhir.nhs.uk/Id/ods-organization-code|A83008', 'A83008', '|x', 'x|', 'ge2020', 'lt2020-13-01', 'eq', 'Organization/1', '-_id', '_lastUpdated', '1001', 'accurate', 'xml', ...WEIRD];
const CONTENT_TYPES = ['application/fhir+json', 'application/json', 'application/json-patch+json', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/fhir+json; charset=latin1', ''];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

function randomValue(depth: number): unknown {
  const kind = Math.floor(next() * (depth > 4 ? 5 : 8));
  switch (kind) {
    case 0: return pick(WEIRD);
    case 1: return Math.floor(next() * 1e12) * (chance(0.5) ? -1 : 1);
    case 2: return chance(0.5);
    case 3: return null;
    case 4: return next();
    case 5: return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [pick([...PARAMS, 'resourceType', 'id', 'meta', 'identifier', 'entry', 'request', 'op', 'path', 'value', 'patches']), randomValue(depth + 1)]));
  }
}

function randomBody(): string | undefined {
  switch (Math.floor(next() * 7)) {
    case 0: return undefined;
    case 1: return JSON.stringify({ resourceType: 'Organization', name: pick(WEIRD), identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: pick(['A83008', ...WEIRD]) }], [pick(PARAMS)]: randomValue(2) });
    case 2: return JSON.stringify({ resourceType: 'Bundle', type: pick(['transaction', 'batch', 'searchset', 7]), entry: [{ request: { method: pick(METHODS), url: `${pick(SEGMENTS)}/${pick(SEGMENTS)}` }, resource: randomValue(2) }] });
    case 3: return JSON.stringify([{ op: pick(['add', 'remove', 'replace', 'test', 'move', 'copy', 'nonsense']), path: `/${pick(PARAMS)}`, value: randomValue(3) }]);
    case 4: return JSON.stringify(randomValue(0));
    case 5: return Array.from({ length: Math.floor(next() * 64) }, () => String.fromCharCode(Math.floor(next() * 256))).join('');
    default: return '['.repeat(Math.floor(next() * 2000));
  }
}

function randomRequest(adminHeaders: Record<string, string>): InjectOptions {
  const segments = Array.from({ length: Math.floor(next() * 4) }, () => encodeURIComponent(pick(SEGMENTS)));
  const path = chance(0.85) ? `${BASE}/${segments.join('/')}` : `/${segments.join('/')}`;
  const query = Array.from({ length: Math.floor(next() * 4) }, () => `${encodeURIComponent(pick(PARAMS))}=${encodeURIComponent(pick(VALUES))}`).join('&');
  const headers: Record<string, string> = chance(0.8) ? { authorization: adminHeaders.authorization ?? '' } : chance(0.5) ? { authorization: `Bearer ${pick(WEIRD)}` } : {};
  const contentType = pick(CONTENT_TYPES);
  if (contentType) headers['content-type'] = contentType;
  if (chance(0.3)) headers['if-match'] = pick(['W/"1"', 'W/"2"', '*', '1', ...WEIRD]);
  if (chance(0.2)) headers['x-request-id'] = pick(['60e0b220-8136-4ac5-9a5c-4a4d8e9c0a7a', ...WEIRD]);
  const body = randomBody();
  return { method: pick(METHODS), url: query ? `${path}?${query}` : path, headers, ...(body === undefined ? {} : { payload: body }) };
}

test(`${REQUESTS} random requests get no 5xx, refusals are OperationOutcomes, and the server still answers`, async () => {
  const t = await buildTestApp();
  const admin = await t.adminHeaders();
  const failures: string[] = [];
  for (let index = 0; index < REQUESTS; index++) {
    const request = randomRequest(admin);
    const response = await t.app.inject(request);
    if (response.statusCode >= 500) failures.push(`${response.statusCode} ${request.method ?? ''} ${request.url as string}: ${response.body.slice(0, 300)}`);
    else if (response.statusCode >= 400 && request.method !== 'HEAD' && !response.body.startsWith('{"resourceType":"OperationOutcome"')) {
      failures.push(`not an OperationOutcome: ${response.statusCode} ${request.method ?? ''} ${request.url as string}: ${response.body.slice(0, 200)}`);
    }
  }
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} bad answers`);
  assert.equal((await t.app.inject({ method: 'GET', url: '/_status' })).statusCode, 200);
});
