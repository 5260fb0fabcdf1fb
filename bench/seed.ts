// The bench's data: organisations with ODS codes unique to this run, loaded before the read and
// search scenarios in FHIR transaction bundles of 1,000 entries.
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';

export const DIRECTORY = '/spine-directory/FHIR/R4';
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const FHIR_JSON = 'application/fhir+json';

const BUNDLE_SIZE = 1000;
/** Bundles in flight at once: one per core keeps the server busy without queueing. */
const CONCURRENT_BUNDLES = availableParallelism();
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Two letters that set this run's codes apart from an earlier run's on the same database. */
const RUN_TAG = Array.from({ length: 2 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

export type SeededOrganisation = { id: string; ods: string };

/** An ODS code of 9 characters: a kind letter, the run tag and a base-36 serial number. */
export function odsCode(kind: 'S' | 'C', serial: number): string {
  return `${kind}${RUN_TAG}${serial.toString(36).toUpperCase().padStart(6, '0')}`;
}

export function organisation(ods: string): object {
  return { resourceType: 'Organization', name: `Bench Surgery ${ods}`, identifier: [{ system: ODS_SYSTEM, value: ods }], active: true };
}

export async function seedOrganisations(server: { url: string; token: string }, count: number): Promise<SeededOrganisation[]> {
  const seeded: SeededOrganisation[] = [];
  const started = performance.now();
  let nextBundle = 0;
  const loadBundles = async () => {
    for (let first = nextBundle++ * BUNDLE_SIZE; first < count; first = nextBundle++ * BUNDLE_SIZE) {
      const codes = Array.from({ length: Math.min(BUNDLE_SIZE, count - first) }, (_, index) => odsCode('S', first + index));
      seeded.push(...(await postBundle(server, codes)));
      if (process.stdout.isTTY) process.stdout.write(`\rseeding: ${seeded.length} of ${count} organisations, ${rate(seeded.length, started)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_BUNDLES }, loadBundles));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${process.stdout.isTTY ? '\r\x1b[K' : ''}seeded ${seeded.length} organisations in ${seconds} s, ${rate(seeded.length, started)}`);
  return seeded;
}

function rate(done: number, started: number): string {
  return `${Math.round(done / ((performance.now() - started) / 1000))}/s`;
}

async function postBundle(server: { url: string; token: string }, codes: string[]): Promise<SeededOrganisation[]> {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: codes.map((ods) => ({ request: { method: 'POST', url: 'Organization' }, resource: organisation(ods) })),
  };
  const response = await fetch(`${server.url}${DIRECTORY}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': FHIR_JSON },
    body: JSON.stringify(bundle),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`seeding failed: HTTP ${response.status}: ${text.slice(0, 500)}`);
  const entries = (JSON.parse(text) as { entry: { response: { location: string } }[] }).entry;
  return entries.map((entry, index) => {
    const id = /\/Organization\/([^/]+)\/_history\//.exec(entry.response.location)?.[1];
    if (!id) throw new Error(`seeding: no id in the location '${entry.response.location}'`);
    return { id, ods: codes[index] ?? '' };
  });
}
