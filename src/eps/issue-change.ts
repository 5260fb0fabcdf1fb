// A dispensing message changes a prescription's issues without holding a transaction open while it
// decides. It reads what EPS knows in one statement, decides in OpenSpine, and writes every change in
// one statement that first locks the issues it read at the versions it read them: if any has moved
// on, nothing is written and the message is decided again on what is there now. Two round trips in
// all, where a locking transaction takes four (BEGIN, the read under lock, the writes, COMMIT), and
// two pharmacies acting at once still cannot both act on what one of them saw.
//
// This holds because every change to an issue or its line items raises the issue's version in the
// same transaction (store.ts: updateIssue, setLineItems, cancelFutureItems, takeNominated with
// setLineItemsStatus, expireDue; this module's write).
import type { Bundle } from '@medplum/fhirtypes';
import type { Database, Queryable } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import { requestMark, type Answer } from './request-log.ts';
import { eventsInsert, PRESCRIPTION_COLUMNS, toIssue, toPrescription, type EventInput, type IssueRecord, type IssueRow, type LineItem, type PrescriptionRecord, type PrescriptionRow } from './store.ts';

/** A prescription as one statement saw it: its issues in order, each one's line items in order, and the signed message if asked for. */
export type DispensingState = { prescription: PrescriptionRow; issues: IssueRow[]; items: Map<number, LineItem[]>; bundle: Bundle | undefined };

/** An issue's new status and, where given, its dispenser, claim and line items. */
export type IssueUpdate = {
  issue: IssueRow;
  status: string;
  /** null takes the issue from its dispenser; undefined leaves it as it is. */
  dispensingOds?: string | null;
  claimId?: string;
  claimedAt?: Date;
  items?: LineItem[];
};

/** Everything one message changes, made at once or not at all. */
export type IssueChange = { shortId: string; updates: IssueUpdate[]; events: EventInput[]; answer: Answer | undefined };

/** A message is decided again at most this often when others keep changing its prescription first. */
const ATTEMPTS = 20;

/**
 * Reads the prescription, decides, and writes the change if the issues it changes are still as read;
 * otherwise reads and decides again. `decide` throws to refuse (nothing is written) and may be
 * called more than once.
 */
export async function changeIssues<T>(db: Database, shortId: string, read: { bundle: boolean }, decide: (state: DispensingState | undefined) => Promise<{ change: IssueChange; result: T }>): Promise<T> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const { change, result } = await decide(await readDispensingState(db, shortId, read.bundle));
    if (await writeIfUnchanged(db, change)) return result;
  }
  throw Errors.unavailable(`Prescription ${shortId} changed ${ATTEMPTS} times while this message was being processed; try again`, 1);
}

type StateRecord = PrescriptionRecord & { issues: (Omit<IssueRecord, 'claimed_at' | 'updated_at'> & { claimed_at: string | null; updated_at: string })[]; items: { issue_number: number; item_id: string; status: string; cancel_pending: boolean }[]; bundle?: Bundle };

/** One statement, so one snapshot: the issues and items agree with each other and with the versions read. */
export async function readDispensingState(db: Queryable, shortId: string, withBundle: boolean): Promise<DispensingState | undefined> {
  const [row] = await db<StateRecord[]>`
    select ${db(PRESCRIPTION_COLUMNS.map((column) => `p.${column}`))}, ${withBundle ? db`p.bundle` : db`null as bundle`},
      (select coalesce(json_agg(i order by i.issue_number), '[]') from eps_issue i where i.short_id = p.short_id) as issues,
      (select coalesce(json_agg(json_build_object('issue_number', l.issue_number, 'item_id', l.item_id, 'status', l.status, 'cancel_pending', l.cancel_pending) order by l.issue_number, l.position), '[]')
         from eps_line_item l where l.short_id = p.short_id) as items
    from eps_prescription p where p.short_id = ${shortId}`;
  if (!row) return undefined;
  const items = new Map<number, LineItem[]>();
  for (const item of row.items) items.set(item.issue_number, [...(items.get(item.issue_number) ?? []), { itemId: item.item_id, status: item.status, cancelPending: item.cancel_pending }]);
  const issues = row.issues.map((issue) => toIssue({ ...issue, claimed_at: issue.claimed_at === null ? null : new Date(issue.claimed_at), updated_at: new Date(issue.updated_at) }));
  return { prescription: toPrescription(row), issues, items, bundle: row.bundle ?? undefined };
}

/** The change in one statement, behind a lock on its issues at the versions read; false, writing nothing, when one has moved on. */
async function writeIfUnchanged(db: Database, change: IssueChange): Promise<boolean> {
  const { shortId, updates } = change;
  const items = updates.flatMap((update) => (update.items ?? []).map((item) => ({ issueNumber: update.issue.issueNumber, ...item })));
  const unchanged = db`where (select yes from unchanged)`;
  const [row] = await db<{ yes: boolean }[]>`
    with locked as (
      select issue_number from eps_issue
      where short_id = ${shortId} and (issue_number, version) in (
        select * from unnest(${updates.map((update) => update.issue.issueNumber)}::int[], ${updates.map((update) => update.issue.version)}::int[]))
      for update
    ), unchanged as (
      select count(*) = ${updates.length} as yes from locked
    ), issues as (
      update eps_issue set status = c.status,
        dispensing_ods = case when c.keep_dispenser then eps_issue.dispensing_ods else c.dispensing_ods end,
        claim_id = coalesce(c.claim_id, eps_issue.claim_id), claimed_at = coalesce(c.claimed_at, eps_issue.claimed_at),
        updated_at = now(), version = eps_issue.version + 1
      from unnest(
        ${updates.map((update) => update.issue.issueNumber)}::int[], ${updates.map((update) => update.status)}::text[],
        ${updates.map((update) => String(update.dispensingOds === undefined))}::text[]::boolean[], ${updates.map((update) => update.dispensingOds ?? null)}::text[],
        ${updates.map((update) => update.claimId ?? null)}::text[], ${updates.map((update) => update.claimedAt?.toISOString() ?? null)}::text[]::timestamptz[]
      ) as c (issue_number, status, keep_dispenser, dispensing_ods, claim_id, claimed_at)
      where eps_issue.short_id = ${shortId} and eps_issue.issue_number = c.issue_number and (select yes from unchanged)
    ), items as (
      update eps_line_item set status = i.status, cancel_pending = i.cancel_pending
      from unnest(${items.map((item) => item.issueNumber)}::int[], ${items.map((item) => item.itemId)}::text[], ${items.map((item) => item.status)}::text[],
        ${items.map((item) => String(item.cancelPending))}::text[]::boolean[]) as i (issue_number, item_id, status, cancel_pending)
      where eps_line_item.short_id = ${shortId} and eps_line_item.issue_number = i.issue_number and eps_line_item.item_id = i.item_id and (select yes from unchanged)
    ), events as (${eventsInsert(db, change.events, unchanged)}
    ), marked as (${change.answer ? requestMark(db, change.answer, unchanged) : db`select 1`})
    select yes from unchanged`;
  return row?.yes === true;
}

const NOT_YET_OR_NEVER: readonly string[] = ['9000', '9001', '9005'];

/**
 * The issue a dispensing message acts on: the one to be dispensed or with a dispenser, else the
 * latest that has been anything (for the error to name). The tracker shows the same one
 * (store.ts, searchPrescriptions).
 */
export function currentIssue(issues: IssueRow[]): IssueRow | undefined {
  const candidates = issues.filter((issue) => !NOT_YET_OR_NEVER.includes(issue.status));
  return candidates.findLast((issue) => ['0001', '0002', '0003'].includes(issue.status)) ?? candidates.at(-1);
}

/** The issue a claim is for: the earliest dispensed one not yet claimed, else the latest claimed (an amendment). */
export function claimableIssue(issues: IssueRow[]): IssueRow | undefined {
  const candidates = issues.filter((issue) => !NOT_YET_OR_NEVER.includes(issue.status));
  return candidates.find((issue) => ['0006', '0007'].includes(issue.status)) ?? candidates.at(-1);
}
