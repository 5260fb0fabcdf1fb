// The synthetic population's merges through the PDS FHIR API: loaded with `openspine import`'s
// code, a merged (superseded) NHS number reads as its survivor, as patient-get.yaml says, and a
// search that matches it returns the survivor in its place (patient-search.yaml). Its own app
// and database: the population fills the trace.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { importPatients } from '../src/pds/bulk.ts';
import { PDS_BASE } from '../src/pds/index.ts';
import { generatePatients } from '../src/pds/population.ts';
import { buildTestApp } from './support/app.ts';

const t = await buildTestApp();
const GP = { mode: 'healthcare-worker' as const, userId: '555000000001', roleProfileId: '555000000101', activityCodes: [] };

async function call(path: string) {
  const token = await t.token({ actor: GP });
  return t.app.inject({ method: 'GET', url: `${PDS_BASE}${path}`, headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID() } });
}
const found = async (query: string) => ((await call(`/Patient?${query}`)).json<Bundle<Patient>>().entry ?? []).map((entry) => [entry.resource?.id, entry.search?.score]);

test('a merged record of the synthetic population, once loaded, reads as its survivor, and a search that matches it returns the survivor in its place', async () => {
  const lines = Array.from(generatePatients({ count: 4000, seed: 21, firstNineDigits: 961_000_000 }), (patient) => JSON.stringify(patient));
  await importPatients(t.db, Readable.from([`${lines.join('\n')}\n`]));
  const merged = lines.map((line) => JSON.parse(line) as Patient).find((patient) => patient.link?.[0]?.type === 'replaced-by');
  assert.ok(merged?.id, 'the population has a merged record');
  const survivor = merged.link?.[0]?.other?.identifier?.value ?? '';
  const read = await call(`/Patient/${merged.id}`);
  assert.equal(read.statusCode, 200);
  assert.equal(read.json<Patient>().id, survivor, 'the survivor, whose id differs from the number asked for');
  assert.equal(read.json<Patient>().link, undefined);
  const search = await found(`family=${merged.name?.[0]?.family ?? ''}&given=${merged.name?.[0]?.given?.[0] ?? ''}&birthdate=eq${merged.birthDate ?? ''}`);
  assert.ok(search.some(([id]) => id === survivor));
  assert.ok(!search.some(([id]) => id === merged.id), 'the merged number is not a match of its own');
  // Found by what only the merged record holds (its address), the survivor is returned in its place.
  const survivorPostcode = (await call(`/Patient/${survivor}`)).json<Patient>().address?.[0]?.postalCode;
  const mergedPostcode = merged.address?.[0]?.postalCode ?? '';
  assert.notEqual(survivorPostcode, mergedPostcode);
  const byOldAddress = await found(`family=${merged.name?.[0]?.family ?? ''}&birthdate=eq${merged.birthDate ?? ''}&address-postalcode=${mergedPostcode}`);
  assert.deepEqual(byOldAddress.filter(([id]) => id === survivor || id === merged.id), [[survivor, 1]]);
});
