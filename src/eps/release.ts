// Task/$release: a pharmacy downloads the prescriptions nominated to it (up to 25 at a time) or
// one prescription by its id (fhir-dispensing.yaml, Task/$release; examples/spec/dispense/).
import { randomUUID } from 'node:crypto';
import type { Bundle, MessageHeader, OperationOutcome, Organization, Parameters } from '@medplum/fhirtypes';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { organisationName } from '../directory/index.ts';
import { EpsErrors } from './errors.ts';
import { identifierOf, isResource, ODS_SYSTEM, UUID_SYSTEM } from './fhir-read.ts';
import { describe, ITEM, STATUS, WITH_DISPENSER } from './lifecycle.ts';
import { SHORT_FORM_SYSTEM, shortFormProblem } from './prescription-id.ts';
import { expiry } from './expiry.ts';
import { changeIssues, currentIssue } from './issue-change.ts';
import { markRequest, type Answer, type Rebuild } from './request-log.ts';
import { appendEvents, readPrescriptionBundles, setLineItemsStatus, takeNominated, type IssueRow } from './store.ts';

/** Nominated release hands over at most this many prescriptions per request. */
export const NOMINATED_RELEASE_LIMIT = 25;
/** Activities of a pharmacy role (../shared/specs/README.md section 6). */
export const DISPENSING_ACTIVITIES = ['B0570', 'B0572'];

export type ReleaseRequest = { ods: string; shortId: string | undefined };

/** Reads the release Parameters: the owner pharmacy, and a prescription id for a patient-specific release. */
export function readReleaseRequest(body: unknown): ReleaseRequest {
  if (!isResource(body, 'Parameters')) throw EpsErrors.invalidMessage('The body must be a FHIR Parameters resource', 'Parameters');
  const parameters = (body as Parameters).parameter ?? [];
  const owner = parameters.find((parameter) => parameter.name === 'owner')?.resource as Organization | undefined;
  const ods = identifierOf(owner?.identifier, ODS_SYSTEM);
  if (!ods) throw EpsErrors.invalidMessage("The 'owner' parameter must be an Organization with an ODS code", "Parameters.parameter.where(name='owner')");
  const status = parameters.find((parameter) => parameter.name === 'status')?.valueCode;
  if (status !== undefined && status !== 'accepted') throw EpsErrors.invalidMessage("The 'status' parameter must be 'accepted'", "Parameters.parameter.where(name='status')");
  const group = parameters.find((parameter) => parameter.name === 'group-identifier')?.valueIdentifier;
  if (group && (group.system !== SHORT_FORM_SYSTEM || !group.value)) {
    throw EpsErrors.invalidMessage("The 'group-identifier' parameter must be a prescription-order-number", "Parameters.parameter.where(name='group-identifier')");
  }
  return { ods, shortId: group?.value };
}

/** A pharmacy releases for itself only: the caller's role must be in the owner organisation. */
export function assertActsForPharmacy(ods: string, actor: Actor | undefined, sandbox: boolean): void {
  if (sandbox) return;
  if (!actor || actor.mode !== 'healthcare-worker' || !DISPENSING_ACTIVITIES.some((code) => actor.activityCodes.includes(code))) {
    throw EpsErrors.notDispenser('Dispensing is for healthcare workers in a pharmacy role (user-restricted access only)');
  }
  if (actor.organisationOds !== ods) throw EpsErrors.notDispenser(`The role profile in use is at '${actor.organisationOds ?? ''}', not at the pharmacy '${ods}'`);
}

/** fhir-dispensing.yaml: NO_MORE_PRESCRIPTIONS is 'informational', not an error. */
const NO_MORE_PRESCRIPTIONS: OperationOutcome = {
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'information', code: 'informational', details: { coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/Spine-ErrorOrWarningCode', code: 'NO_MORE_PRESCRIPTIONS', display: 'No more prescriptions available for nominated download.' }] } }],
};

export async function release(db: Database, request: ReleaseRequest, actor: Actor | undefined): Promise<Answer> {
  return request.shortId === undefined ? releaseNominated(db, request.ods, actor) : releaseOne(db, request.ods, request.shortId, actor);
}

/** Every prescription nominated to the pharmacy and not yet released, oldest first, 25 at most. */
async function releaseNominated(db: Database, ods: string, actor: Actor | undefined): Promise<Answer> {
  return db.begin(async (tx) => {
    const issues = await takeNominated(tx, ods, NOMINATED_RELEASE_LIMIT, new Date());
    const [bundles] = await Promise.all([
      readPrescriptionBundles(tx, issues.map((issue) => issue.shortId)),
      setLineItemsStatus(tx, issues, ITEM.toBeDispensed, ITEM.withDispenser),
      appendEvents(tx, issues.map((issue) => ({ shortId: issue.shortId, issueNumber: issue.issueNumber, event: 'released', status: STATUS.withDispenser, actorUserId: actor?.userId, actorOds: ods }))),
    ]);
    const answer = issues.length === 0 ? { status: 200, response: NO_MORE_PRESCRIPTIONS, patients: [], shortIds: [] } : releasedResponse(ods, issues, bundles);
    await markRequest(tx, answer);
    return answer;
  });
}

/** One prescription by its id: exactly one pharmacy gets it, however many ask at once (issue-change.ts). */
async function releaseOne(db: Database, ods: string, shortId: string, actor: Actor | undefined): Promise<Answer> {
  if (shortFormProblem(shortId) === 'check-character') throw EpsErrors.invalidCheckDigit(shortId);
  // The signed message never changes: read with the issues, it is what the release hands over.
  const outcome = await changeIssues<{ answer: Answer } | { expiredAt: Date }>(db, shortId, { bundle: true }, async (state) => {
    const current = state && currentIssue(state.issues);
    if (!state || !current) throw EpsErrors.releaseNotFound(shortId);
    if (WITH_DISPENSER.includes(current.status) && current.dispensingOds !== ods) throw EpsErrors.withAnotherDispenser(await pharmacy(db, current.dispensingOds ?? ''));
    if (current.status !== STATUS.toBeDispensed) throw EpsErrors.invalidStateTransition(`A prescription at ${describe(current.status)} cannot be released`);
    // Past its expiry but not yet swept: it expires now, and the refusal says so.
    if (state.prescription.expiresAt <= new Date()) return { change: expiry(current, state.items.get(current.issueNumber) ?? []), result: { expiredAt: state.prescription.expiresAt } };
    const answer = releasedResponse(ods, [current], new Map(state.bundle ? [[shortId, state.bundle]] : []));
    const items = (state.items.get(current.issueNumber) ?? []).map((item) => (item.status === ITEM.toBeDispensed ? { ...item, status: ITEM.withDispenser } : item));
    const released = { shortId, issueNumber: current.issueNumber, event: 'released', status: STATUS.withDispenser, actorUserId: actor?.userId, actorOds: ods };
    return { change: { shortId, answer, updates: [{ issue: current, status: STATUS.withDispenser, dispensingOds: ods, items }], events: [released] }, result: { answer } };
  });
  if ('expiredAt' in outcome) throw EpsErrors.invalidStateTransition(`A prescription at ${describe(STATUS.expired)} cannot be released: it expired at ${outcome.expiredAt.toISOString()}`);
  return outcome.answer;
}

/** The organisation named in PRESCRIPTION_WITH_ANOTHER_DISPENSER's `contained`. */
async function pharmacy(db: Database, ods: string): Promise<Organization> {
  const name = await organisationName(db, ods);
  return { resourceType: 'Organization', id: randomUUID(), identifier: [{ system: ODS_SYSTEM, value: ods }], ...(name ? { name } : {}) };
}

/**
 * What a release's answer is built from besides the signed messages themselves: its ids and time,
 * and the prescriptions it passed. Kept for its retries in place of the answer (request-log.ts),
 * which is rebuilt from it and the messages, read again from eps_prescription where they never change.
 */
type ReleasePlan = {
  ods: string;
  at: string;
  ids: { parameters: string; passed: string; passedIdentifier: string; failed: string; failedIdentifier: string };
  passed: { shortId: string; bundleId: string; lastUpdated: string }[];
};

/** The passed prescriptions, each the signed message as prescribed, addressed to the releasing pharmacy. */
function releasedResponse(ods: string, issues: IssueRow[], bundles: Map<string, Bundle>): Answer {
  const passed = issues.flatMap((issue) => {
    const bundle = bundles.get(issue.shortId);
    return bundle ? [{ shortId: issue.shortId, bundleId: bundle.id ?? randomUUID(), lastUpdated: issue.updatedAt.toISOString() }] : [];
  });
  const plan: ReleasePlan = {
    ods,
    at: new Date().toISOString(),
    ids: { parameters: randomUUID(), passed: randomUUID(), passedIdentifier: randomUUID(), failed: randomUUID(), failedIdentifier: randomUUID() },
    passed,
  };
  const patients = passed.flatMap(({ shortId }) => {
    const subject = (bundles.get(shortId)?.entry ?? []).find((entry) => entry.resource?.resourceType === 'Patient')?.resource;
    const nhsNumber = subject?.resourceType === 'Patient' ? identifierOf(subject.identifier, 'https://fhir.nhs.uk/Id/nhs-number') : undefined;
    return nhsNumber ? [nhsNumber] : [];
  });
  return { status: 200, response: releaseResponse(plan, bundles), patients, shortIds: issues.map((issue) => issue.shortId), kept: plan };
}

/** A release's answer again, for a retry, from what it kept. */
export function rebuildRelease(db: Database): Rebuild {
  return async (kept) => {
    const plan = kept as ReleasePlan;
    return releaseResponse(plan, await readPrescriptionBundles(db, plan.passed.map((passed) => passed.shortId)));
  };
}

function releaseResponse(plan: ReleasePlan, bundles: Map<string, Bundle>): Parameters {
  const searchset = (id: string, identifier: string, entries: Bundle[]): Bundle => ({
    resourceType: 'Bundle',
    id,
    meta: { lastUpdated: plan.at },
    identifier: { system: UUID_SYSTEM, value: identifier },
    type: 'searchset',
    total: entries.length,
    entry: entries.map((resource) => ({ fullUrl: `urn:uuid:${resource.id ?? ''}`, resource })),
  });
  const passed = plan.passed.flatMap(({ shortId, bundleId, lastUpdated }) => {
    const bundle = bundles.get(shortId);
    return bundle ? [addressedTo(bundle, plan.ods, bundleId, lastUpdated)] : [];
  });
  return {
    resourceType: 'Parameters',
    id: plan.ids.parameters,
    parameter: [
      { name: 'passedPrescriptions', resource: searchset(plan.ids.passed, plan.ids.passedIdentifier, passed) },
      { name: 'failedPrescriptions', resource: searchset(plan.ids.failed, plan.ids.failedIdentifier, []) },
    ],
  };
}

/** The signed message as stored, its header addressed from Spine to the releasing pharmacy. */
function addressedTo(bundle: Bundle, ods: string, id: string, lastUpdated: string): Bundle {
  const entry = (bundle.entry ?? []).map((candidate) => {
    if (candidate.resource?.resourceType !== 'MessageHeader') return candidate;
    const header: MessageHeader = {
      ...candidate.resource,
      destination: [{ endpoint: `https://directory.spineservices.nhs.uk/STU3/Organization/${ods}`, receiver: { identifier: { system: ODS_SYSTEM, value: ods } } }],
      sender: { identifier: { system: ODS_SYSTEM, value: 'X2601' }, display: 'NHS Digital Spine' },
    };
    return { ...candidate, resource: header };
  });
  return { ...bundle, id, meta: { lastUpdated }, entry };
}
