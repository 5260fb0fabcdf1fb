// Dispensing after release: dispense notifications (partial and full, per line item, and their
// amendments), return to Spine, withdrawal of the last notification, and the claim for payment;
// each checked against the lifecycle (lifecycle.ts) and written only if the issues it changes are
// still as it found them (issue-change.ts).
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { readClaim, readDispenseNotification, readTask, repeatsAllowedIn, type ClaimMessage, type DispenseNotification, type TaskMessage } from './dispense-messages.ts';
import { EpsErrors } from './errors.ts';
import { readMessage } from './fhir-read.ts';
import { describe, DISPENSING_COMPLETE, ITEM, OPEN_ITEM_STATUSES, STATUS, WITH_DISPENSER } from './lifecycle.ts';
import { DISPENSING_ACTIVITIES } from './release.ts';
import { changeIssues, claimableIssue, currentIssue, type DispensingState, type IssueUpdate } from './issue-change.ts';
import type { Answer } from './request-log.ts';
import { eventsOf, type EventInput, type IssueRow, type LineItem, type PrescriptionRow } from './store.ts';

export type DispenseDeps = { db: Database; sandbox: boolean };
const informational = (): OperationOutcome => ({ resourceType: 'OperationOutcome', meta: { lastUpdated: new Date().toISOString() }, issue: [{ severity: 'information', code: 'informational' }] });

/** What a dispensing message is answered: 200, informational, for one patient's prescription. */
const accepted = (message: { patientNhsNumber: string; shortId: string }): Answer => ({ status: 200, response: informational(), patients: [message.patientNhsNumber], shortIds: [message.shortId] });

/** The pharmacy the caller acts for: its role profile's organisation (a pharmacy role, in user-restricted mode). */
function pharmacyOf(actor: Actor | undefined, sandbox: boolean, fallback: string | undefined): string | undefined {
  if (sandbox) return fallback;
  if (!actor || actor.mode !== 'healthcare-worker' || !DISPENSING_ACTIVITIES.some((code) => actor.activityCodes.includes(code))) {
    throw EpsErrors.notDispenser('Dispensing is for healthcare workers in a pharmacy role (user-restricted access only)');
  }
  return actor.organisationOds;
}

type Held = { prescription: PrescriptionRow; issue: IssueRow; items: LineItem[]; next: IssueRow | undefined };

/**
 * The prescription and the issue a message acts on, held by this pharmacy and for this patient,
 * with the issue's line items and the issue after it (repeat dispensing), if there is one.
 */
function heldIssue(state: DispensingState | undefined, message: { shortId: string; patientNhsNumber: string }, ods: string | undefined, pickIssue = currentIssue): Held {
  const issue = state && pickIssue(state.issues);
  if (!state || !issue) throw EpsErrors.prescriptionNotFound(message.shortId);
  if (state.prescription.patientNhsNumber !== message.patientNhsNumber) throw EpsErrors.failureToProcess(`the NHS number does not match prescription ${message.shortId}'s`);
  if (ods !== undefined && issue.dispensingOds !== null && issue.dispensingOds !== ods) {
    throw EpsErrors.withAnotherDispenser({ resourceType: 'Organization', id: 'dispenser', identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: issue.dispensingOds }] });
  }
  const next = state.issues.find((candidate) => candidate.issueNumber === issue.issueNumber + 1);
  return { prescription: state.prescription, issue, items: state.items.get(issue.issueNumber) ?? [], next };
}

export async function dispenseNotification(deps: DispenseDeps, bundle: Bundle, actor: Actor | undefined): Promise<Answer> {
  const notification = readMessage(() => readDispenseNotification(bundle));
  const stated = readMessage(() => repeatsAllowedIn(bundle));
  const ods = pharmacyOf(actor, deps.sandbox, undefined);
  const answer = accepted(notification);
  return changeIssues(deps.db, notification.shortId, { bundle: false }, async (state) => {
    const { prescription, issue, items: held, next } = heldIssue(state, notification, ods);
    assertRepeatCounts(prescription, stated);
    let status = issue.status;
    let items = held;
    if (notification.replaces !== undefined) {
      // A dispense amendment replaces the last notification: dispensing goes on from before it.
      const last = (await dispenseStack(deps.db, issue)).at(-1);
      if (!last || last.messageId !== notification.replaces) throw EpsErrors.dispenseAmendMismatch(`'${notification.replaces}' is not the last dispense notification of ${notification.shortId}`);
      status = last.statusBefore;
      items = last.itemsBefore;
    }
    if (!WITH_DISPENSER.includes(status) && !(notification.replaces !== undefined && DISPENSING_COMPLETE.includes(issue.status))) {
      throw EpsErrors.invalidStateTransition(`A prescription at ${describe(issue.status)} cannot take a dispense notification`);
    }
    const dispensed = {
      shortId: issue.shortId, issueNumber: issue.issueNumber, event: notification.replaces ? 'dispense-amended' : 'dispensed', status: notification.status,
      actorUserId: actor?.userId, actorOds: ods ?? issue.dispensingOds ?? undefined, messageId: notification.messageId, itemsBefore: items, message: { statusBefore: status, replaces: notification.replaces ?? null },
    };
    // Repeat dispensing: once an issue is dispensed (or not), the next one becomes available.
    const opened = next && DISPENSING_COMPLETE.includes(notification.status) && next.status === STATUS.futureIssue ? [next] : [];
    return {
      result: answer,
      change: {
        shortId: issue.shortId,
        answer,
        updates: [{ issue, status: notification.status, items: applyDispense(items, notification) }, ...opened.map((future) => ({ issue: future, status: STATUS.toBeDispensed }))],
        events: [dispensed, ...opened.map((future) => ({ shortId: future.shortId, issueNumber: future.issueNumber, event: 'issue-available', status: STATUS.toBeDispensed }))],
      },
    };
  });
}

/**
 * Repeat dispensing: the repeat count a dispensing message states must be the one the prescriber
 * authorised (numberOfRepeatsAllowed, one fewer than the issues: MedicationRequest.yaml, "if a
 * prescription is valid for 6 issues in total, the value entered must be 5"), else
 * MISMATCH_AUTHORISED_REPEAT_COUNTS (fhir-dispensing.yaml, "Dispensing Errors"). Acute and repeat
 * prescribing messages may carry the extension too (examples/spec/dispensing/*repeat-primary*);
 * their counts belong to the prescriber's system and are not Spine's to check.
 */
function assertRepeatCounts(prescription: PrescriptionRow, stated: number[], refusal = EpsErrors.repeatCountMismatch): void {
  if (prescription.courseOfTherapy !== 'continuous-repeat-dispensing') return;
  const authorised = prescription.issuesAuthorised - 1;
  const wrong = stated.find((count) => count !== authorised);
  if (wrong !== undefined) {
    throw refusal(`The message states ${wrong} repeats allowed; prescription ${prescription.shortId} authorised ${authorised} (${prescription.issuesAuthorised} issues)`);
  }
}

/** The line items after a notification: each named item must exist and still be open to dispensing. */
function applyDispense(items: LineItem[], notification: DispenseNotification): LineItem[] {
  const byId = new Map(items.map((item) => [item.itemId, { ...item }]));
  for (const dispensed of notification.items) {
    const item = byId.get(dispensed.itemId);
    if (!item) throw EpsErrors.itemNotFound(dispensed.itemId);
    // Each notification states every item's status so far: a finished item may be restated, not changed.
    if (!OPEN_ITEM_STATUSES.includes(item.status) && item.status !== dispensed.status) {
      throw EpsErrors.invalidLineStateTransition(`Line item '${item.itemId}' is at ${item.status} and cannot become ${dispensed.status}`);
    }
    item.status = dispensed.status;
  }
  return [...byId.values()];
}

type StackEntry = { messageId: string; statusBefore: string; itemsBefore: LineItem[] };

/** The dispense notifications in force, oldest first: each withdrawal or amendment takes the last off. */
async function dispenseStack(db: Database, issue: IssueRow): Promise<StackEntry[]> {
  const stack: StackEntry[] = [];
  let status: string = STATUS.toBeDispensed;
  for (const event of (await eventsOf(db, issue)).reverse()) {
    if (event.event === 'dispensed') stack.push({ messageId: event.messageId ?? '', statusBefore: status, itemsBefore: event.itemsBefore ?? [] });
    if (event.event === 'dispense-amended') {
      const replaced = stack.pop();
      if (replaced) stack.push({ ...replaced, messageId: event.messageId ?? '' });
    }
    if (event.event === 'withdrawn') stack.pop();
    status = event.status;
  }
  return stack;
}

export async function taskUpdate(deps: DispenseDeps, body: unknown, actor: Actor | undefined): Promise<Answer> {
  const task = readMessage(() => readTask(body));
  const ods = pharmacyOf(actor, deps.sandbox, undefined);
  const stated = readMessage(() => repeatsAllowedIn(body));
  const answer = accepted(task);
  return changeIssues(deps.db, task.shortId, { bundle: false }, async (state) => {
    const updates = task.kind === 'return' ? returned(state, task, ods, actor, stated) : await withdrawn(deps.db, state, task, ods, actor, stated);
    return { result: answer, change: { shortId: task.shortId, answer, ...updates } };
  });
}

type Updates = { updates: IssueUpdate[]; events: EventInput[] };

/** Return: the pharmacy gives back a prescription it has not dispensed from; items marked for cancellation are cancelled now. */
function returned(state: DispensingState | undefined, task: TaskMessage, ods: string | undefined, actor: Actor | undefined, stated: number[]): Updates {
  const { prescription, issue, items } = heldIssue(state, task, ods);
  // The return's own table names this refusal MAX_REPEAT_MISMATCH (fhir-dispensing.yaml, Task#return).
  assertRepeatCounts(prescription, stated, EpsErrors.maxRepeatMismatch);
  if (issue.status !== STATUS.withDispenser) throw EpsErrors.invalidStateTransition(`A prescription at ${describe(issue.status)} cannot be returned`);
  const after = items.map((item) => ({ ...item, status: item.cancelPending ? ITEM.cancelled : item.status === ITEM.withDispenser ? ITEM.toBeDispensed : item.status, cancelPending: false }));
  const allCancelled = after.every((item) => item.status === ITEM.cancelled);
  const status = allCancelled ? STATUS.cancelled : STATUS.toBeDispensed;
  const event = { shortId: issue.shortId, issueNumber: issue.issueNumber, event: 'returned', status, actorUserId: actor?.userId, actorOds: ods, messageId: task.messageId, itemsBefore: items, message: { reason: task.reason } };
  // A cancellation that waited for the pharmacy to give the prescription back takes effect now.
  const cancelled = allCancelled && prescription.cancelRequestedBy ? [{ shortId: issue.shortId, issueNumber: issue.issueNumber, event: 'cancelled', status, actorUserId: prescription.cancelRequestedBy }] : [];
  return { updates: [{ issue, status, dispensingOds: null, items: after }], events: [event, ...cancelled] };
}

/** Withdrawal: the last dispense notification is taken back, and the issue is as it was before it. */
async function withdrawn(db: Database, state: DispensingState | undefined, task: TaskMessage, ods: string | undefined, actor: Actor | undefined, stated: number[]): Promise<Updates> {
  const { prescription, issue, next } = heldIssue(state, task, ods, withdrawableIssue);
  assertRepeatCounts(prescription, stated);
  if (![STATUS.withDispenserActive, ...DISPENSING_COMPLETE].includes(issue.status)) {
    throw EpsErrors.invalidStateTransition(`A prescription at ${describe(issue.status)} has no dispense notification to withdraw`);
  }
  const last = (await dispenseStack(db, issue)).at(-1);
  if (!last) throw EpsErrors.invalidStateTransition('The prescription has no dispense notification to withdraw');
  if (task.withdraws !== undefined && task.withdraws !== last.messageId) {
    throw EpsErrors.invalidStateTransition(`Only the last dispense notification ('${last.messageId}') can be withdrawn, not '${task.withdraws}'`);
  }
  const event = { shortId: issue.shortId, issueNumber: issue.issueNumber, event: 'withdrawn', status: last.statusBefore, actorUserId: actor?.userId, actorOds: ods, messageId: task.messageId, message: { reason: task.reason, withdrawn: last.messageId } };
  return { updates: [{ issue, status: last.statusBefore, items: last.itemsBefore }, ...closedNextIssue(issue, next)], events: [event] };
}

/** A withdrawal acts on the latest issue that has been dispensed from and is not yet claimed. */
function withdrawableIssue(issues: IssueRow[]): IssueRow | undefined {
  return issues.findLast((issue) => [STATUS.withDispenserActive, ...DISPENSING_COMPLETE].includes(issue.status)) ?? issues.at(-1);
}

/** Undoing a completed repeat-dispensing issue puts the next issue back in the future, if no one has it yet. */
function closedNextIssue(issue: IssueRow, next: IssueRow | undefined): IssueUpdate[] {
  if (!next || !DISPENSING_COMPLETE.includes(issue.status) || next.status === STATUS.futureIssue) return [];
  if (next.status !== STATUS.toBeDispensed) throw EpsErrors.invalidStateTransition(`Issue ${next.issueNumber} is already at ${describe(next.status)}; the dispense notification of issue ${issue.issueNumber} can no longer be withdrawn`);
  return [{ issue: next, status: STATUS.futureIssue }];
}

export async function claim(deps: DispenseDeps, body: unknown, actor: Actor | undefined): Promise<Answer> {
  const message = readMessage(() => readClaim(body));
  const ods = pharmacyOf(actor, deps.sandbox, undefined);
  const stated = readMessage(() => repeatsAllowedIn(body));
  const answer = accepted(message);
  return changeIssues(deps.db, message.shortId, { bundle: false }, async (state) => ({ result: answer, change: { shortId: message.shortId, answer, ...claimed(state, message, ods, actor, stated) } }));
}

/** A claim closes a dispensed issue (0006 to 0008, 0007 to 0009); an amendment replaces the claim on record. */
function claimed(state: DispensingState | undefined, message: ClaimMessage, ods: string | undefined, actor: Actor | undefined, stated: number[]): Updates {
  const { prescription, issue, items } = heldIssue(state, message, ods, claimableIssue);
  assertRepeatCounts(prescription, stated);
  for (const itemId of message.itemIds) if (!items.some((item) => item.itemId === itemId)) throw EpsErrors.itemNotFound(itemId);
  const event = { shortId: issue.shortId, issueNumber: issue.issueNumber, actorUserId: actor?.userId, actorOds: ods, messageId: message.claimId };
  if (message.replaces !== undefined) {
    if (issue.status !== STATUS.claimed && issue.status !== STATUS.noClaimed) throw EpsErrors.invalidStateTransition(`A prescription at ${describe(issue.status)} has no claim to amend`);
    if (issue.claimId !== message.replaces) throw EpsErrors.dispenseAmendMismatch(`'${message.replaces}' is not the claim on record for ${message.shortId}`);
    if (!withinClaimPeriod(issue.claimedAt ?? new Date(0), new Date())) throw EpsErrors.claimAmendPeriod();
    return { updates: [{ issue, status: issue.status, claimId: message.claimId }], events: [{ ...event, event: 'claim-amended', status: issue.status }] };
  }
  if (!DISPENSING_COMPLETE.includes(issue.status)) throw EpsErrors.invalidStateTransition(`A prescription at ${describe(issue.status)} cannot be claimed`);
  if (items.some((item) => OPEN_ITEM_STATUSES.includes(item.status))) throw EpsErrors.invalidLineStateTransition('Every line item must be dispensed, not dispensed or cancelled before a claim');
  const status = issue.status === STATUS.dispensed ? STATUS.claimed : STATUS.noClaimed;
  return { updates: [{ issue, status, claimId: message.claimId, claimedAt: new Date() }], events: [{ ...event, event: 'claimed', status }] };
}

/** NHSBSA accepts amendments until the 5th of the month after the claim's month. */
export function withinClaimPeriod(claimedAt: Date, now: Date): boolean {
  const deadline = new Date(Date.UTC(claimedAt.getUTCFullYear(), claimedAt.getUTCMonth() + 1, 6));
  return now < deadline;
}
