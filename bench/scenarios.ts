// The load scenarios: the request each one sends (a different resource every time), what a
// correct answer looks like, and the target it is held to (the benchmark issue's figures).
import { randomUUID } from 'node:crypto';
import type { SampledPatient } from './pds.ts';
import { DIRECTORY, ODS_SYSTEM, odsCode, organisation, type SeededOrganisation } from './seed.ts';

/** The MESH scenarios, driven by bench/mesh.ts rather than autocannon: each MESH request is signed with a fresh nonce. */
export const MESH_SCENARIO_NAMES = ['mesh-small', 'mesh-bulk'] as const;
export type MeshScenarioName = (typeof MESH_SCENARIO_NAMES)[number];

/** The EPS scenario, driven by bench/eps.ts: each lifecycle chains five calls, the order signed between $prepare and $process-message. */
export const EPS_SCENARIO_NAMES = ['eps-lifecycle'] as const;
export type EpsScenarioName = (typeof EPS_SCENARIO_NAMES)[number];

/** In the order `all` runs them: creates last, so reads and searches see exactly the seeded data; EPS's and MESH's touch none of it. */
export const SCENARIO_NAMES = ['read', 'search-token', 'pds-read', 'pds-search', 'pds-fuzzy', 'create', ...EPS_SCENARIO_NAMES, ...MESH_SCENARIO_NAMES] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isMeshScenario(name: ScenarioName): name is MeshScenarioName {
  return (MESH_SCENARIO_NAMES as readonly string[]).includes(name);
}

export function isEpsScenario(name: ScenarioName): name is EpsScenarioName {
  return (EPS_SCENARIO_NAMES as readonly string[]).includes(name);
}

export type Target = { requestsPerSecond?: number; p99Ms: number };

export type BenchRequest = { method: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string> };

/** Who the requests are sent as: the bench's administrator (a system token), or the demo GP in their role profile. */
export type Caller = 'admin' | 'healthcare-worker';
/** The demo GP's role profile, sent as NHSD-Session-URID with their token. */
export const DEMO_GP = { userId: '555000000001', roleProfileId: '555000000101' };

export type BenchData = { organisations: SeededOrganisation[]; patients: SampledPatient[] };

export type Scenario = {
  name: ScenarioName;
  description: string;
  caller: Caller;
  target: Target;
  next: () => BenchRequest;
  /** What is wrong with the answer to a request, if anything: checked before the run, so a fast wrong answer is not measured. */
  problemWith: (request: BenchRequest, status: number, body: string) => string | undefined;
};

const P99_TARGET_MS = 25;

const PDS = '/personal-demographics/FHIR/R4';

/** The data a scenario reads: seeded organisations, loaded patients, or none (it makes its own). */
export function dataNeeded(name: ScenarioName): 'organisations' | 'patients' | 'none' {
  if (name === 'create' || isMeshScenario(name) || isEpsScenario(name)) return 'none';
  return name.startsWith('pds-') ? 'patients' : 'organisations';
}

export function buildScenario(name: Exclude<ScenarioName, MeshScenarioName | EpsScenarioName>, data: BenchData): Scenario {
  let turn = 0;
  const nextSeeded = (): SeededOrganisation => {
    const organisation = data.organisations[turn++ % data.organisations.length];
    if (!organisation) throw new Error(`the ${name} scenario needs seeded organisations`);
    return organisation;
  };
  const nextPatient = (): SampledPatient => {
    const patient = data.patients[turn++ % data.patients.length];
    if (!patient) throw new Error(`the ${name} scenario needs loaded patients`);
    return patient;
  };
  // PDS wants a UUID X-Request-ID on every call, and staff their role profile.
  const pdsHeaders = () => ({ 'x-request-id': randomUUID(), 'nhsd-session-urid': DEMO_GP.roleProfileId });
  const pdsSearch = (query: Record<string, string>): BenchRequest => ({ method: 'GET', path: `${PDS}/Patient?${new URLSearchParams(query).toString()}`, headers: pdsHeaders() });
  switch (name) {
    case 'pds-read':
      return {
        name,
        description: 'GET Patient/{NHS number} as a GP, cycling over loaded patients (authenticated, audited)',
        caller: 'healthcare-worker',
        target: { requestsPerSecond: 5000, p99Ms: P99_TARGET_MS },
        next: () => ({ method: 'GET', path: `${PDS}/Patient/${nextPatient().nhsNumber}`, headers: pdsHeaders() }),
        problemWith: (request, status, body) => unexpectedStatus(status, 200, body) ?? notTheOneAskedFor(request, body, 'patient'),
      };
    case 'pds-search':
      return {
        name,
        description: 'GET Patient?family=&birthdate=eq as a GP, over loaded patients',
        caller: 'healthcare-worker',
        target: { requestsPerSecond: 1000, p99Ms: P99_TARGET_MS },
        next: () => {
          const patient = nextPatient();
          // Up to 50, as a GP's system asks: in millions, a common name shares a birth date with others.
          return pdsSearch({ family: patient.family, birthdate: `eq${patient.birthDate}`, '_max-results': '50' });
        },
        problemWith: (request, status, body) => unexpectedStatus(status, 200, body) ?? patientNotFound(request, body),
      };
    case 'pds-fuzzy':
      return {
        name,
        description: 'GET Patient?family=&given=&birthdate=&_fuzzy-match=true as a GP, the family name misspelt',
        caller: 'healthcare-worker',
        target: { requestsPerSecond: 300, p99Ms: P99_TARGET_MS },
        next: () => {
          const patient = nextPatient();
          return pdsSearch({ family: misspelt(patient.family), given: patient.given, birthdate: patient.birthDate, '_fuzzy-match': 'true', '_max-results': '50' });
        },
        problemWith: (request, status, body) => unexpectedStatus(status, 200, body) ?? patientNotFound(request, body),
      };
    case 'read':
      return {
        name,
        description: 'GET Organization/{id}, cycling over the seeded ids',
        caller: 'admin',
        target: { requestsPerSecond: 5000, p99Ms: P99_TARGET_MS },
        next: () => ({ method: 'GET', path: `${DIRECTORY}/Organization/${nextSeeded().id}` }),
        problemWith: (request, status, body) => unexpectedStatus(status, 200, body) ?? notTheOneAskedFor(request, body, 'resource'),
      };
    case 'search-token':
      return {
        name,
        description: 'GET Organization?identifier=<ODS system>|<code>, cycling over the seeded codes',
        caller: 'admin',
        target: { p99Ms: P99_TARGET_MS },
        next: () => ({ method: 'GET', path: `${DIRECTORY}/Organization?${new URLSearchParams({ identifier: `${ODS_SYSTEM}|${nextSeeded().ods}` }).toString()}` }),
        problemWith: (_request, status, body) => unexpectedStatus(status, 200, body) ?? notOneMatch(body),
      };
    case 'create':
      return {
        name,
        description: 'POST Organization, each with a new ODS code, committed before the answer',
        caller: 'admin',
        target: { requestsPerSecond: 1500, p99Ms: P99_TARGET_MS },
        next: () => ({ method: 'POST', path: `${DIRECTORY}/Organization`, body: JSON.stringify(organisation(odsCode('C', turn++))) }),
        problemWith: (_request, status, body) =>
          unexpectedStatus(status, 201, body) ?? ((JSON.parse(body) as { id?: string }).id ? undefined : 'no id in the answer'),
      };
  }
}

function unexpectedStatus(status: number, expected: number, body: string): string | undefined {
  return status === expected ? undefined : `HTTP ${status} instead of ${expected}: ${body.slice(0, 300)}`;
}

/** A read must answer with the resource whose id ends its path. */
function notTheOneAskedFor(request: BenchRequest, body: string, what: string): string | undefined {
  return request.path.endsWith(`/${(JSON.parse(body) as { id?: string }).id}`) ? undefined : `another ${what} came back`;
}

function notOneMatch(searchset: string): string | undefined {
  const matches = (JSON.parse(searchset) as { entry?: unknown[] }).entry?.length ?? 0;
  return matches === 1 ? undefined : `${matches} matches instead of 1`;
}

/** A name as a clerk might mistype it: its last vowel changed, the same sound to Soundex. */
function misspelt(family: string): string {
  const last = Math.max(...[...'aeiou'].map((vowel) => family.lastIndexOf(vowel)));
  if (last < 1) return family;
  return `${family.slice(0, last)}y${family.slice(last + 1)}`;
}

/** Whether a searchset holds a patient of the family and birth date searched for (the family of fuzzy searches differs in spelling). */
function patientNotFound(request: BenchRequest, searchset: string): string | undefined {
  const query = new URLSearchParams(request.path.split('?')[1]);
  const birthDate = (query.get('birthdate') ?? '').replace(/^eq/, '');
  const bundle = JSON.parse(searchset) as { resourceType?: string; entry?: { resource?: { birthDate?: string } }[] };
  // More than _max-results match (a common name on one day, in millions): PDS answers so with HTTP 200, as the spec says.
  if (bundle.resourceType === 'OperationOutcome' && searchset.includes('"TOO_MANY_MATCHES"')) return undefined;
  if (bundle.resourceType !== 'Bundle') return `a ${bundle.resourceType ?? 'body without resourceType'} instead of a searchset: ${searchset.slice(0, 300)}`;
  return bundle.entry?.some((entry) => entry.resource?.birthDate === birthDate) ? undefined : `no patient born ${birthDate} among ${bundle.entry?.length ?? 0} matches`;
}
