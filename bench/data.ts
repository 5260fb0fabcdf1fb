// The data the scenarios read, loaded into a server before they run: seeded organisations, or a
// bulk-loaded population of patients (or a sample of those of a data folder loaded beforehand).
import { loadPatients, samplePatients } from './pds.ts';
import { dataNeeded, type BenchData, type ScenarioName } from './scenarios.ts';
import { seedOrganisations } from './seed.ts';
import type { BenchServer } from './server.ts';

export async function benchData(server: BenchServer, names: ScenarioName[], options: { seedCount: number; patients: number; dataDir?: string }): Promise<BenchData> {
  const needs = (kind: 'organisations' | 'patients') => names.some((name) => dataNeeded(name) === kind);
  return {
    organisations: needs('organisations') ? await seedOrganisations({ url: server.url, token: server.tokens.admin }, options.seedCount) : [],
    patients: needs('patients') ? (options.dataDir ? await samplePatients(server) : (await loadPatients(server, options.patients)).sample) : [],
  };
}
