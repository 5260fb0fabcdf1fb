// The load scenarios: the request each one sends (a different resource every time), what a
// correct answer looks like, and the target it is held to (the benchmark issue's figures).
import { DIRECTORY, ODS_SYSTEM, odsCode, organisation, type SeededOrganisation } from './seed.ts';

/** In the order `all` runs them: creates last, so reads and searches see exactly the seeded data. */
export const SCENARIO_NAMES = ['read', 'search-token', 'create'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export type Target = { requestsPerSecond?: number; p99Ms: number };

export type BenchRequest = { method: 'GET' | 'POST'; path: string; body?: string };

export type Scenario = {
  name: ScenarioName;
  description: string;
  target: Target;
  next: () => BenchRequest;
  /** What is wrong with the answer to a request, if anything: checked before the run, so a fast wrong answer is not measured. */
  problemWith: (request: BenchRequest, status: number, body: string) => string | undefined;
};

const P99_TARGET_MS = 25;

export function needsSeed(name: ScenarioName): boolean {
  return name !== 'create';
}

export function buildScenario(name: ScenarioName, seeded: SeededOrganisation[]): Scenario {
  let turn = 0;
  const nextSeeded = (): SeededOrganisation => {
    const organisation = seeded[turn++ % seeded.length];
    if (!organisation) throw new Error(`the ${name} scenario needs seeded organisations`);
    return organisation;
  };
  switch (name) {
    case 'read':
      return {
        name,
        description: 'GET Organization/{id}, cycling over the seeded ids',
        target: { requestsPerSecond: 5000, p99Ms: P99_TARGET_MS },
        next: () => ({ method: 'GET', path: `${DIRECTORY}/Organization/${nextSeeded().id}` }),
        problemWith: (request, status, body) =>
          unexpectedStatus(status, 200, body) ?? (request.path.endsWith(`/${(JSON.parse(body) as { id?: string }).id}`) ? undefined : 'another resource came back'),
      };
    case 'search-token':
      return {
        name,
        description: 'GET Organization?identifier=<ODS system>|<code>, cycling over the seeded codes',
        target: { p99Ms: P99_TARGET_MS },
        next: () => ({ method: 'GET', path: `${DIRECTORY}/Organization?${new URLSearchParams({ identifier: `${ODS_SYSTEM}|${nextSeeded().ods}` }).toString()}` }),
        problemWith: (_request, status, body) => unexpectedStatus(status, 200, body) ?? notOneMatch(body),
      };
    case 'create':
      return {
        name,
        description: 'POST Organization, each with a new ODS code, committed before the answer',
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

function notOneMatch(searchset: string): string | undefined {
  const matches = (JSON.parse(searchset) as { entry?: unknown[] }).entry?.length ?? 0;
  return matches === 1 ? undefined : `${matches} matches instead of 1`;
}
