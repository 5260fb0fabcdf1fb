import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { changeIssues, readDispensingState, type DispensingState, type IssueChange } from './issue-change.ts';
import { STATUS } from './lifecycle.ts';
import { eventsOf, setLineItems } from './store.ts';
import { createPrescriber, loadExample, prescribe, randomPharmacyOds } from './test-kit.ts';

// The optimistic write of issue-change.ts: decided on one statement's view, written only if the
// issues it changes are still at the versions read, else decided again.
const t = await buildTestApp();
const prescriber = await createPrescriber(t);
const ERD = 'spec/prescribing/prescription-order/eRD-primary-example-req.json';

async function prescribed(): Promise<DispensingState> {
  const { response, shortId } = await prescribe(t, prescriber, loadExample(ERD), { nominatedOds: randomPharmacyOds() });
  assert.equal(response.statusCode, 200, response.body);
  const state = await readDispensingState(t.db, shortId, true);
  assert.ok(state);
  return state;
}

/** A change of every issue to `status`, with an event saying so. */
function changeAll(state: DispensingState, status: string, versions: (version: number, index: number) => number = (version) => version): IssueChange {
  const { shortId } = state.prescription;
  return {
    shortId,
    answer: undefined,
    updates: state.issues.map((issue, index) => ({ issue: { ...issue, version: versions(issue.version, index) }, status })),
    events: [{ shortId, issueNumber: 1, event: `to ${status}`, status }],
  };
}

test('one statement reads the prescription, its issues in order with their versions, their line items and, if asked, the signed message', async () => {
  const state = await prescribed();
  assert.ok(state.issues.length > 1, 'a repeat-dispensing prescription has several issues');
  assert.deepEqual(state.issues.map((issue) => issue.issueNumber), state.issues.map((_issue, index) => index + 1));
  assert.deepEqual(state.issues.map((issue) => issue.status), [STATUS.toBeDispensed, ...state.issues.slice(1).map(() => STATUS.futureIssue)]);
  assert.ok(state.issues.every((issue) => issue.version === 1 && issue.updatedAt instanceof Date && !Number.isNaN(issue.updatedAt.getTime())));
  assert.equal(state.items.size, state.issues.length);
  assert.equal(state.bundle?.resourceType, 'Bundle');
  assert.equal((await readDispensingState(t.db, state.prescription.shortId, false))?.bundle, undefined);
  assert.equal(await readDispensingState(t.db, 'AAAAAA-A83008-00000X', false), undefined);
});

test('a change whose issues moved on after it read them writes nothing, not even for the issues that did not move, and is decided again', async () => {
  const state = await prescribed();
  const seen: DispensingState[] = [];
  const result = await changeIssues(t.db, state.prescription.shortId, { bundle: false }, async (now) => {
    assert.ok(now);
    seen.push(now);
    // The first decision names a stale version for the last issue only.
    const change = seen.length === 1 ? changeAll(now, STATUS.futureIssueCancelled, (version, index) => (index === now.issues.length - 1 ? version - 1 : version)) : changeAll(now, STATUS.futureIssueCancelled);
    return { change, result: seen.length };
  });
  assert.equal(result, 2, 'decided twice');
  assert.deepEqual(seen[1]?.issues.map((issue) => [issue.status, issue.version]), state.issues.map((issue) => [issue.status, issue.version]), 'the first change wrote nothing');
  const after = await readDispensingState(t.db, state.prescription.shortId, false);
  assert.deepEqual(after?.issues.map((issue) => [issue.status, issue.version]), state.issues.map(() => [STATUS.futureIssueCancelled, 2]));
  assert.deepEqual((await eventsOf(t.db, { shortId: state.prescription.shortId, issueNumber: 1 })).filter((event) => event.event.startsWith('to ')).length, 1, 'one event: the second decision\'s');
});

test('a change to line items made between the read and the write (a cancellation marking them) sends the message back to be decided on them', async () => {
  const state = await prescribed();
  const first = state.issues[0];
  assert.ok(first);
  const decided: boolean[] = [];
  await changeIssues(t.db, state.prescription.shortId, { bundle: false }, async (now) => {
    assert.ok(now);
    const items = now.items.get(1) ?? [];
    decided.push(items.every((item) => item.cancelPending));
    // Another request marks the items for cancellation after this one read them.
    if (decided.length === 1) await setLineItems(t.db, first, items.map((item) => ({ ...item, cancelPending: true })));
    return { change: changeAll({ ...now, issues: now.issues.slice(0, 1) }, STATUS.withDispenser), result: undefined };
  });
  assert.deepEqual(decided, [false, true], 'decided again, on the marked items');
});

test('a prescription others keep changing is refused with 503 after a bounded number of decisions, never written from a stale view', async () => {
  const state = await prescribed();
  let decisions = 0;
  await assert.rejects(
    changeIssues(t.db, state.prescription.shortId, { bundle: false }, async (now) => {
      decisions++;
      assert.ok(now);
      return { change: changeAll(now, STATUS.withDispenser, (version) => version + 1), result: undefined };
    }),
    (error: { status?: number }) => error.status === 503,
  );
  assert.ok(decisions > 1 && decisions <= 20, `${decisions} decisions`);
  assert.deepEqual((await readDispensingState(t.db, state.prescription.shortId, false))?.issues.map((issue) => issue.version), state.issues.map(() => 1));
});
