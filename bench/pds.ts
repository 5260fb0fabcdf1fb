// The PDS bench's data: a synthetic population generated to NDJSON and bulk-loaded (the path of
// `openspine population` and `openspine import`), timed, with a sample of its patients to ask for.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { pino } from 'pino';
import { openDatabase } from '../src/openspine.ts';
import { loadConfig } from '../src/platform/config.ts';
import { importPatients } from '../src/pds/bulk.ts';
import { generatePatients } from '../src/pds/population.ts';

/** Patients kept to ask for: spread over the whole population, so reads touch all of the table. */
const SAMPLE_SIZE = 50_000;
const POPULATION_SEED = 1;

export type SampledPatient = { nhsNumber: string; family: string; given: string; birthDate: string };
export type PatientLoad = { patients: number; generateSeconds: number; importSeconds: number; sample: SampledPatient[] };

/** Generates `count` patients into an NDJSON file in the server's data folder, then loads it into the server's database. */
export async function loadPatients(server: { dataDir: string; env: NodeJS.ProcessEnv }, count: number): Promise<PatientLoad> {
  const file = path.join(server.dataDir, 'population.ndjson');
  const generateStarted = performance.now();
  const sample = await writePopulation(file, count);
  const generateSeconds = (performance.now() - generateStarted) / 1000;
  console.log(`generated ${count} patients in ${generateSeconds.toFixed(1)} s, ${Math.round(count / generateSeconds)}/s`);

  const database = await openDatabase(loadConfig({ logLevel: 'warn' }, server.env), pino({ level: 'warn' }), 'tool');
  try {
    const importStarted = performance.now();
    // The table holds only the demo patients: rebuilding its indexes after the load is the fast way.
    const summary = await importPatients(database.db, createReadStream(file), {
      lockTable: true,
      onProgress: (progress) => {
        if (process.stdout.isTTY) process.stdout.write(`\r\x1b[Kimporting: ${progress.records} patients, ${progress.phase}`);
      },
    });
    const importSeconds = (performance.now() - importStarted) / 1000;
    console.log(`${process.stdout.isTTY ? '\r\x1b[K' : ''}imported ${summary.records} patients in ${importSeconds.toFixed(1)} s, ${Math.round(summary.records / importSeconds)}/s (verified: count and checksum)`);
    return { patients: summary.records, generateSeconds, importSeconds, sample };
  } finally {
    await database.close();
    await rm(file, { force: true });
  }
}

/** A sample of the patients already in the server's database, spread over the table: for a data folder loaded beforehand. */
export async function samplePatients(server: { env: NodeJS.ProcessEnv }): Promise<SampledPatient[]> {
  const database = await openDatabase(loadConfig({ logLevel: 'warn' }, server.env), pino({ level: 'warn' }), 'tool');
  try {
    // Row by row (BERNOULLI), not page by page: a sample of whole pages would be read from few pages, all soon in cache.
    const [table] = await database.db<{ rows: number }[]>`select greatest(reltuples, 1)::float8 as rows from pg_class where relname = 'pds_patient'`;
    const percent = Math.min(100, (SAMPLE_SIZE * 200) / (table?.rows ?? 1));
    const rows = await database.db<{ nhs_number: string; family: string | null; given: string | null; birth_date: string | null }[]>`
      select nhs_number, record->'name'->0->>'family' as family, record->'name'->0->'given'->>0 as given, birth_date::text as birth_date
      from pds_patient tablesample bernoulli (${percent})
      where not restricted and not invalidated and superseded_by is null and birth_date is not null
      limit ${SAMPLE_SIZE}`;
    const sample = rows.map((row) => ({ nhsNumber: row.nhs_number, family: row.family ?? '', given: row.given ?? '', birthDate: row.birth_date ?? '' }));
    console.log(`sampled ${sample.length} of the patients already loaded`);
    return sample;
  } finally {
    await database.close();
  }
}

async function writePopulation(file: string, count: number): Promise<SampledPatient[]> {
  const output = createWriteStream(file);
  const every = Math.max(1, Math.floor(count / SAMPLE_SIZE));
  const sample: SampledPatient[] = [];
  let chunk = '';
  let index = 0;
  for (const patient of generatePatients({ count, seed: POPULATION_SEED })) {
    chunk += `${JSON.stringify(patient)}\n`;
    if (index % every === 0 && patient.id && patient.birthDate) sample.push({ nhsNumber: patient.id, family: patient.name?.[0]?.family ?? '', given: patient.name?.[0]?.given?.[0] ?? '', birthDate: patient.birthDate });
    if (++index % 10_000 === 0) {
      if (!output.write(chunk)) await once(output, 'drain');
      chunk = '';
    }
  }
  output.end(chunk);
  await finished(output);
  return sample;
}
