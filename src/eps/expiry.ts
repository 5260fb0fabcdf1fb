// Expiry (status 0004 "Expired", ../shared/specs/README.md section 2): when a prescription stops being
// dispensable, and the sweep, run in the server on a timer, that marks the ones past it.
import type { Logger } from 'pino';
import type { Database } from '../platform/db/connect.ts';
import { runPeriodically, type PeriodicJob } from '../platform/periodic.ts';
import { ITEM, OPEN_ITEM_STATUSES, STATUS } from './lifecycle.ts';
import type { PrescriptionOrder } from './order.ts';
import { forgetOldRequests } from './request-log.ts';
import type { IssueChange } from './issue-change.ts';
import { appendEvents, expireDue, type IssueRow, type LineItem } from './store.ts';

/**
 * Without a validity period, an acute or repeat prescription is valid for six months from the date
 * it counts from (validityPeriod.start, else authoredOn): the NHS rule of the Human Medicines
 * Regulations 2012 (regulation 217), which the EPS spec does not restate. A repeat-dispensing
 * authorisation is capped at twelve months: MedicationRequest.yaml (schemas/components), whose
 * validityPeriod.end is "capped at 12 months".
 */
export const ACUTE_MONTHS = 6;
export const REPEAT_DISPENSING_MONTHS = 12;
/** Issues expired per transaction. */
export const EXPIRY_BATCH = 500;

const isDate = (value: string | undefined): value is string => value !== undefined && !Number.isNaN(Date.parse(value.slice(0, 10)));
const endOfDay = (date: string): Date => new Date(`${date.slice(0, 10)}T23:59:59Z`);

/**
 * When a prescription expires: the end of its validityPeriod (acute and repeat prescribing); for
 * repeat dispensing, whose validityPeriod is one issue's (MedicationRequest.yaml: "End date of an
 * issue"), the authorisationExpiryDate of Extension-UKCore-MedicationRepeatInformation; else the
 * default period above from the date it counts from.
 */
export function expiryOf(order: Pick<PrescriptionOrder, 'courseOfTherapy' | 'validUntil' | 'validFrom' | 'authorisationExpiry'>, now: Date): Date {
  const repeatDispensing = order.courseOfTherapy === 'continuous-repeat-dispensing';
  if (repeatDispensing && isDate(order.authorisationExpiry)) return endOfDay(order.authorisationExpiry);
  if (!repeatDispensing && isDate(order.validUntil)) return endOfDay(order.validUntil);
  const from = isDate(order.validFrom) ? new Date(`${order.validFrom.slice(0, 10)}T00:00:00Z`) : new Date(now);
  from.setUTCMonth(from.getUTCMonth() + (repeatDispensing ? REPEAT_DISPENSING_MONTHS : ACUTE_MONTHS));
  return endOfDay(from.toISOString());
}

/** One issue expires at once (a release found it past its expiry before the sweep did): its open line items expire with it. */
export function expiry(issue: IssueRow, items: LineItem[]): IssueChange {
  const expired = items.map((item) => (OPEN_ITEM_STATUSES.includes(item.status) || item.status === ITEM.toBeDispensed ? { ...item, status: ITEM.expired, cancelPending: false } : item));
  return {
    shortId: issue.shortId,
    answer: undefined,
    updates: [{ issue, status: STATUS.expired, items: expired }],
    events: [{ shortId: issue.shortId, issueNumber: issue.issueNumber, event: 'expired', status: STATUS.expired }],
  };
}

export type ExpirySweepDeps = { db: Database; now: () => Date; batch?: number };

/** Expires every issue past its expiry, in short transactions of bounded batches; returns how many. */
export async function sweepExpired(deps: ExpirySweepDeps): Promise<number> {
  const now = deps.now();
  const batch = deps.batch ?? EXPIRY_BATCH;
  let total = 0;
  for (;;) {
    const expired = await deps.db.begin(async (tx) => {
      const issues = await expireDue(tx, now, batch);
      await appendEvents(tx, issues.map((issue) => ({ ...issue, event: 'expired', status: STATUS.expired })));
      return issues.length;
    });
    total += expired;
    if (expired < batch) return total;
  }
}

export type ExpirySweeper = PeriodicJob;

/**
 * Sweeps every `intervalMs` (the first one interval after the start), one sweep at a time; a failure is logged and tried again next time.
 * It also forgets requests kept for X-Request-ID de-duplication past their retention.
 */
export function startExpirySweeper(options: ExpirySweepDeps & { log: Logger; intervalMs: number }): ExpirySweeper {
  return runPeriodically({
    name: 'EPS expiry sweep',
    intervalMs: options.intervalMs,
    log: options.log,
    work: async () => {
      const expired = await sweepExpired(options);
      // The same sweep forgets the X-Request-IDs answered long enough ago (src/eps/request-log.ts).
      const forgotten = await forgetOldRequests(options.db, options.now());
      if (expired > 0 || forgotten > 0) options.log.info({ expired, forgottenRequests: forgotten }, 'EPS expiry sweep');
    },
  });
}
