// The SQL of the Electronic Prescription Service: prescriptions, their issues and line items, the
// event history and the prescribers' certificates (migrations/0012_eps.sql).
import type { Bundle } from '@medplum/fhirtypes';
import type { Queryable } from '../platform/db/connect.ts';
import type { PrescriptionOrder } from './order.ts';
import { requestMark, type Answer } from './request-log.ts';

export type IssueRow = {
  shortId: string;
  issueNumber: number;
  status: string;
  nominatedOds: string | null;
  dispensingOds: string | null;
  claimId: string | null;
  claimedAt: Date | null;
  updatedAt: Date;
  /** Raised by every change to the issue or its line items (issue-change.ts). */
  version: number;
};

export type PrescriptionRow = {
  shortId: string;
  longId: string;
  patientNhsNumber: string;
  prescriberOds: string;
  prescriberUserId: string;
  nominatedOds: string | null;
  courseOfTherapy: string;
  issuesAuthorised: number;
  cancelRequestedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
};

export type LineItem = { itemId: string; status: string; cancelPending: boolean };

export type IssueRecord = { short_id: string; issue_number: number; status: string; nominated_ods: string | null; dispensing_ods: string | null; claim_id: string | null; claimed_at: Date | null; updated_at: Date; version: number };
const ISSUE_COLUMNS = ['short_id', 'issue_number', 'status', 'nominated_ods', 'dispensing_ods', 'claim_id', 'claimed_at', 'updated_at', 'version'];
export const toIssue = (row: IssueRecord): IssueRow => ({
  shortId: row.short_id,
  issueNumber: row.issue_number,
  status: row.status,
  nominatedOds: row.nominated_ods,
  dispensingOds: row.dispensing_ods,
  claimId: row.claim_id,
  claimedAt: row.claimed_at,
  updatedAt: row.updated_at,
  version: row.version,
});

export type PrescriptionRecord = {
  short_id: string; long_id: string; patient_nhs_number: string; prescriber_ods: string; prescriber_user_id: string; nominated_ods: string | null;
  course_of_therapy: string; issues_authorised: number; cancel_requested_by: string | null; created_at: Date; expires_at: Date;
};
export const PRESCRIPTION_COLUMNS = ['short_id', 'long_id', 'patient_nhs_number', 'prescriber_ods', 'prescriber_user_id', 'nominated_ods', 'course_of_therapy', 'issues_authorised', 'cancel_requested_by', 'created_at', 'expires_at'];
export const toPrescription = (row: PrescriptionRecord): PrescriptionRow => ({
  shortId: row.short_id,
  longId: row.long_id,
  patientNhsNumber: row.patient_nhs_number,
  prescriberOds: row.prescriber_ods,
  prescriberUserId: row.prescriber_user_id,
  nominatedOds: row.nominated_ods,
  courseOfTherapy: row.course_of_therapy,
  issuesAuthorised: row.issues_authorised,
  cancelRequestedBy: row.cancel_requested_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

export type NewPrescription = {
  order: PrescriptionOrder;
  nominatedOds: string | undefined;
  bundle: Bundle;
  expiresAt: Date;
  event: EventInput;
  answer: Answer;
  /** The certificate in the signature's KeyInfo, which must be registered to this user and not revoked. */
  signer: { userId: string; fingerprint: string } | undefined;
};

/**
 * Stores a new prescription with its issues (the first to be dispensed, later ones waiting as
 * 9000), their line items, the event that records it and its X-Request-ID with its answer, in one
 * statement (one round trip, its own transaction), if the certificate it was signed with is
 * registered; nothing when not, or when its short or long id is taken. The foreign keys between
 * those rows are checked at the end of the statement, when all of them exist.
 */
export async function insertPrescription(db: Queryable, fresh: NewPrescription): Promise<'stored' | 'taken' | 'unregistered'> {
  const { order, nominatedOds, expiresAt } = fresh;
  const issues = Array.from({ length: order.issuesAuthorised }, (_unused, index) => index + 1);
  const registered = fresh.signer
    ? db`exists (select 1 from eps_prescriber_certificate where user_id = ${fresh.signer.userId} and fingerprint = ${fresh.signer.fingerprint} and revoked_at is null)`
    : db`true`;
  const [row] = await db<{ stored: number; registered: boolean }[]>`
    with registered as (
      select ${registered} as yes
    ), prescription as (
      insert into eps_prescription (short_id, long_id, patient_nhs_number, prescriber_ods, prescriber_role_profile_id, prescriber_user_id, nominated_ods, course_of_therapy, issues_authorised, bundle, expires_at)
      select ${order.shortId}::text, ${order.longId}::uuid, ${order.patientNhsNumber}::text, ${order.prescriberOds}::text, ${order.roleProfileId}::text, ${order.userId}::text, ${nominatedOds ?? null}::text,
             ${order.courseOfTherapy}::text, ${order.issuesAuthorised}::int, ${JSON.stringify(fresh.bundle)}::text::json, ${expiresAt}::timestamptz
      where (select yes from registered)
      on conflict do nothing returning short_id
    ), issues as (
      insert into eps_issue (short_id, issue_number, status, nominated_ods, expires_at)
      select prescription.short_id, issue, case when issue = 1 then '0001' else '9000' end, ${nominatedOds ?? null}, ${expiresAt}
      from prescription cross join unnest(${issues}::int[]) as issue
    ), items as (
      insert into eps_line_item (short_id, issue_number, item_id, position, status)
      select prescription.short_id, issue, item.id, item.position, '0007'
      from prescription cross join unnest(${issues}::int[]) as issue cross join unnest(${order.itemIds}::text[]) with ordinality as item (id, position)
    ), events as (${eventsInsert(db, [fresh.event], db`where exists (select 1 from prescription)`)}
    ), marked as (${requestMark(db, fresh.answer, db`where exists (select 1 from prescription)`)})
    select (select count(*)::int from prescription) as stored, (select yes from registered) as registered`;
  if (row?.stored === 1) return 'stored';
  return row?.registered === false ? 'unregistered' : 'taken';
}

export async function readPrescription(db: Queryable, shortId: string): Promise<PrescriptionRow | undefined> {
  const [row] = await db<PrescriptionRecord[]>`select ${db(PRESCRIPTION_COLUMNS)} from eps_prescription where short_id = ${shortId}`;
  return row && toPrescription(row);
}

/** The signed messages of these prescriptions, by short id, in one statement (a nominated release hands over up to 25). */
export async function readPrescriptionBundles(db: Queryable, shortIds: string[]): Promise<Map<string, Bundle>> {
  if (shortIds.length === 0) return new Map();
  const rows = await db<{ short_id: string; bundle: Bundle }[]>`select short_id, bundle from eps_prescription where short_id = any(${shortIds}::text[])`;
  return new Map(rows.map((row) => [row.short_id, row.bundle]));
}

/** Whether a prescription with this short or long id exists. */
export async function prescriptionExists(db: Queryable, shortId: string, longId: string): Promise<boolean> {
  // Two probes of their own unique indexes: cheaper than one scan of both for `or`.
  const [row] = await db<{ taken: boolean }[]>`
    select exists (select 1 from eps_prescription where short_id = ${shortId}) or exists (select 1 from eps_prescription where long_id = ${longId}) as taken`;
  return row?.taken === true;
}

/** Every issue of a prescription, locked, in order. */
export async function lockIssues(tx: Queryable, shortId: string): Promise<IssueRow[]> {
  const rows = await tx<IssueRecord[]>`
    select ${tx(ISSUE_COLUMNS)} from eps_issue where short_id = ${shortId} order by issue_number for update`;
  return rows.map(toIssue);
}

export async function updateIssue(tx: Queryable, issue: { shortId: string; issueNumber: number }, change: { status: string; dispensingOds?: string | null; claimId?: string; claimedAt?: Date }): Promise<void> {
  await tx`
    update eps_issue set status = ${change.status},
      dispensing_ods = ${change.dispensingOds === undefined ? tx`dispensing_ods` : change.dispensingOds},
      claim_id = coalesce(${change.claimId ?? null}, claim_id), claimed_at = coalesce(${change.claimedAt ?? null}, claimed_at),
      updated_at = now(), version = version + 1
    where short_id = ${issue.shortId} and issue_number = ${issue.issueNumber}`;
}

/**
 * Nominated release: takes up to `limit` issues to be dispensed at this pharmacy, oldest first,
 * skipping rows another transaction has locked, so parallel releases never take one twice.
 */
export async function takeNominated(tx: Queryable, ods: string, limit: number, now: Date): Promise<IssueRow[]> {
  // An issue past its expiry is not handed over even before the sweep has marked it 0004.
  const rows = await tx<IssueRecord[]>`
    update eps_issue set status = '0002', dispensing_ods = ${ods}, updated_at = now(), version = version + 1
    where (short_id, issue_number) in (
      select short_id, issue_number from eps_issue where nominated_ods = ${ods} and status = '0001' and (expires_at is null or expires_at > ${now})
      order by updated_at limit ${limit} for update skip locked)
    returning ${tx(ISSUE_COLUMNS)}`;
  return rows.map(toIssue);
}

type LineItemRecord = { issue_number: number; item_id: string; status: string; cancel_pending: boolean };
const toLineItem = (row: LineItemRecord): LineItem => ({ itemId: row.item_id, status: row.status, cancelPending: row.cancel_pending });

export async function lineItemsOf(db: Queryable, issue: { shortId: string; issueNumber: number }): Promise<LineItem[]> {
  const rows = await db<LineItemRecord[]>`
    select issue_number, item_id, status, cancel_pending from eps_line_item where short_id = ${issue.shortId} and issue_number = ${issue.issueNumber} order by position`;
  return rows.map(toLineItem);
}

/** Sets an issue's line items, raising its version (issue-change.ts): a message decided on the items before sees that they changed. */
export async function setLineItems(tx: Queryable, issue: { shortId: string; issueNumber: number }, items: LineItem[]): Promise<void> {
  if (items.length === 0) return;
  await tx`
    with items as (
      update eps_line_item set status = item.status, cancel_pending = item.cancel_pending
      from unnest(${items.map((item) => item.itemId)}::text[], ${items.map((item) => item.status)}::text[], ${items.map((item) => String(item.cancelPending))}::text[]::boolean[]) as item (item_id, status, cancel_pending)
      where eps_line_item.short_id = ${issue.shortId} and eps_line_item.issue_number = ${issue.issueNumber} and eps_line_item.item_id = item.item_id)
    update eps_issue set version = version + 1 where short_id = ${issue.shortId} and issue_number = ${issue.issueNumber}`;
}

/** Every line item of nominated-release issues at once, one query for up to 25 prescriptions. */
export async function setLineItemsStatus(tx: Queryable, issues: { shortId: string; issueNumber: number }[], from: string, to: string): Promise<void> {
  if (issues.length === 0) return;
  await tx`
    update eps_line_item set status = ${to}
    from unnest(${issues.map((issue) => issue.shortId)}::text[], ${issues.map((issue) => issue.issueNumber)}::int[]) as taken (short_id, issue_number)
    where eps_line_item.short_id = taken.short_id and eps_line_item.issue_number = taken.issue_number and eps_line_item.status = ${from}`;
}

/** Cancels these line items on the repeat-dispensing issues still to come (9000), as cancelled on the current one, raising those issues' versions. */
export async function cancelFutureItems(tx: Queryable, shortId: string, itemIds: string[]): Promise<void> {
  if (itemIds.length === 0) return;
  await tx`
    with future as (
      update eps_issue set version = version + 1 where short_id = ${shortId} and status = '9000' returning issue_number)
    update eps_line_item set status = '0005', cancel_pending = false
    where short_id = ${shortId} and item_id = any(${itemIds}::text[]) and issue_number in (select issue_number from future)`;
}

/**
 * The expiry sweep's batch: up to `limit` issues past their expiry and still open (to be dispensed,
 * with a dispenser untouched, or a future repeat-dispensing issue), oldest first, skipping rows
 * another process holds so that several servers share the work; each becomes 0004 Expired and its
 * open line items 0006 Expired. Uses eps_issue_expiry (migrations/0016_eps_expiry.sql).
 */
export async function expireDue(tx: Queryable, now: Date, limit: number): Promise<{ shortId: string; issueNumber: number }[]> {
  const rows = await tx<{ short_id: string; issue_number: number }[]>`
    with due as (
      select short_id, issue_number from eps_issue
      where status in ('0001', '0002', '9000') and expires_at <= ${now}
      order by expires_at limit ${limit} for update skip locked),
    expired as (
      update eps_issue set status = '0004', updated_at = now(), version = version + 1 from due
      where eps_issue.short_id = due.short_id and eps_issue.issue_number = due.issue_number
      returning eps_issue.short_id, eps_issue.issue_number),
    items as (
      update eps_line_item set status = '0006', cancel_pending = false from expired
      where eps_line_item.short_id = expired.short_id and eps_line_item.issue_number = expired.issue_number and eps_line_item.status in ('0007', '0008')
      returning 1)
    select short_id, issue_number from expired`;
  return rows.map((row) => ({ shortId: row.short_id, issueNumber: row.issue_number }));
}

export async function setCancelRequestedBy(tx: Queryable, shortId: string, userId: string | null): Promise<void> {
  await tx`update eps_prescription set cancel_requested_by = ${userId} where short_id = ${shortId}`;
}

export type EventInput = {
  shortId: string;
  issueNumber: number;
  event: string;
  status: string;
  actorUserId?: string | undefined;
  actorOds?: string | undefined;
  messageId?: string | undefined;
  itemsBefore?: LineItem[];
  message?: unknown;
};

/** The insert of events into eps_event, as a fragment; `onlyIf`, a condition on inserting them at all. */
export function eventsInsert(db: Queryable, events: EventInput[], onlyIf = db``) {
  return db`
    insert into eps_event (short_id, issue_number, event, status, actor_user_id, actor_ods, message_id, items_before, message)
    select * from unnest(
      ${events.map((event) => event.shortId)}::text[], ${events.map((event) => event.issueNumber)}::int[], ${events.map((event) => event.event)}::text[],
      ${events.map((event) => event.status)}::text[], ${events.map((event) => event.actorUserId ?? null)}::text[], ${events.map((event) => event.actorOds ?? null)}::text[],
      ${events.map((event) => event.messageId ?? null)}::text[], ${events.map((event) => (event.itemsBefore ? JSON.stringify(event.itemsBefore) : null))}::text[]::json[],
      ${events.map((event) => (event.message === undefined ? null : JSON.stringify(event.message)))}::text[]::json[])
    ${onlyIf}`;
}

export async function appendEvents(tx: Queryable, events: EventInput[]): Promise<void> {
  if (events.length > 0) await eventsInsert(tx, events);
}

export type EventRow = { id: number; issueNumber: number; event: string; status: string; occurredAt: Date; actorOds: string | null; messageId: string | null; itemsBefore: LineItem[] | null };

/** The events of an issue, newest first. */
export async function eventsOf(db: Queryable, issue: { shortId: string; issueNumber: number }): Promise<EventRow[]> {
  const rows = await db<{ id: string; issue_number: number; event: string; status: string; occurred_at: Date; actor_ods: string | null; message_id: string | null; items_before: LineItem[] | null }[]>`
    select id, issue_number, event, status, occurred_at, actor_ods, message_id, items_before from eps_event
    where short_id = ${issue.shortId} and issue_number = ${issue.issueNumber} order by id desc`;
  return rows.map((row) => ({ id: Number(row.id), issueNumber: row.issue_number, event: row.event, status: row.status, occurredAt: row.occurred_at, actorOds: row.actor_ods, messageId: row.message_id, itemsBefore: row.items_before }));
}

export async function certificatesOf(db: Queryable, userId: string): Promise<string[]> {
  const rows = await db<{ certificate_pem: string }[]>`
    select certificate_pem from eps_prescriber_certificate where user_id = ${userId} and revoked_at is null order by registered_at`;
  return rows.map((row) => row.certificate_pem);
}

export async function upsertCertificate(db: Queryable, userId: string, fingerprint: string, pem: string): Promise<void> {
  await db`insert into eps_prescriber_certificate (user_id, fingerprint, certificate_pem) values (${userId}, ${fingerprint}, ${pem})
           on conflict (user_id, fingerprint) do update set revoked_at = null, certificate_pem = excluded.certificate_pem`;
}

export type TrackedPrescription = PrescriptionRow & { issue: IssueRow };
export type TrackerQuery = { shortId?: string; patientNhsNumber?: string; status?: string; from?: Date; to?: Date; limit: number };

/**
 * The tracker's search: by prescription id or patient (each an index lookup), narrowed by the
 * current issue's status and the date prescribed, newest first.
 */
export async function searchPrescriptions(db: Queryable, query: TrackerQuery): Promise<TrackedPrescription[]> {
  const conditions = [
    ...(query.shortId === undefined ? [] : [db`p.short_id = ${query.shortId}`]),
    ...(query.patientNhsNumber === undefined ? [] : [db`p.patient_nhs_number = ${query.patientNhsNumber}`]),
    ...(query.status === undefined ? [] : [db`i.status = ${query.status}`]),
    ...(query.from === undefined ? [] : [db`p.created_at >= ${query.from}`]),
    ...(query.to === undefined ? [] : [db`p.created_at < ${query.to}`]),
  ];
  const where = conditions.reduce((all, condition) => db`${all} and ${condition}`, db`true`);
  const rows = await db<(PrescriptionRecord & Omit<IssueRecord, 'short_id' | 'nominated_ods'> & { issue_nominated_ods: string | null })[]>`
    select p.short_id, p.long_id, p.patient_nhs_number, p.prescriber_ods, p.prescriber_user_id, p.nominated_ods, p.course_of_therapy, p.issues_authorised,
           p.cancel_requested_by, p.created_at, p.expires_at,
           i.issue_number, i.status, i.nominated_ods as issue_nominated_ods, i.dispensing_ods, i.claim_id, i.claimed_at, i.updated_at
    from eps_prescription p
    cross join lateral (
      select * from eps_issue where eps_issue.short_id = p.short_id and status not in ('9000', '9001', '9005')
      order by (status in ('0001', '0002', '0003')) desc, issue_number desc limit 1) i
    where ${where}
    order by p.created_at desc limit ${query.limit}`;
  return rows.map((row) => ({
    ...toPrescription(row),
    issue: toIssue({ ...row, short_id: row.short_id, nominated_ods: row.issue_nominated_ods }),
  }));
}
