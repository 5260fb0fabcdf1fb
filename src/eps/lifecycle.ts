// The prescription and line-item statuses and the moves between them (../shared/specs/README.md
// section 2, "Status lifecycle"; EPS-task-business-status and medicationdispense-type code systems).

export const STATUS = {
  awaitingReleaseReady: '0000',
  toBeDispensed: '0001',
  withDispenser: '0002',
  withDispenserActive: '0003',
  expired: '0004',
  cancelled: '0005',
  dispensed: '0006',
  notDispensed: '0007',
  claimed: '0008',
  noClaimed: '0009',
  futureIssue: '9000',
  futureIssueCancelled: '9005',
} as const;

export const STATUS_DISPLAY: Record<string, string> = {
  '0000': 'Awaiting Release Ready',
  '0001': 'To Be Dispensed',
  '0002': 'With Dispenser',
  '0003': 'With Dispenser - Active',
  '0004': 'Expired',
  '0005': 'Cancelled',
  '0006': 'Dispensed',
  '0007': 'Not Dispensed',
  '0008': 'Claimed',
  '0009': 'No-Claimed',
  '9000': 'Repeat Dispense future instance',
  '9001': 'Prescription future instance',
  '9005': 'Cancelled future instance',
};

/** The FHIR Task.status the tracker shows for each business status. */
export const TASK_STATUS: Record<string, 'requested' | 'accepted' | 'in-progress' | 'failed' | 'cancelled' | 'completed' | 'draft'> = {
  '0000': 'draft',
  '0001': 'requested',
  '0002': 'accepted',
  '0003': 'in-progress',
  '0004': 'failed',
  '0005': 'cancelled',
  '0006': 'completed',
  '0007': 'completed',
  '0008': 'completed',
  '0009': 'completed',
  '9000': 'draft',
  '9001': 'draft',
  '9005': 'cancelled',
};

export const ITEM = {
  dispensed: '0001',
  notDispensed: '0002',
  partlyDispensed: '0003',
  notDispensedOwing: '0004',
  cancelled: '0005',
  expired: '0006',
  toBeDispensed: '0007',
  withDispenser: '0008',
} as const;

export const ITEM_DISPLAY: Record<string, string> = {
  '0001': 'Item fully dispensed',
  '0002': 'Item not dispensed',
  '0003': 'Item dispensed - partial',
  '0004': 'Item not dispensed owing',
  '0005': 'Item cancelled',
  '0006': 'Expired',
  '0007': 'To Be Dispensed',
  '0008': 'With Dispenser',
};

/** The statuses a dispense notification may give a prescription (README section 2). */
export const DISPENSE_NOTIFICATION_STATUSES: readonly string[] = [STATUS.withDispenserActive, STATUS.dispensed, STATUS.notDispensed];
/** Item statuses a dispense notification may give (an item may be recorded as cancelled, as examples/spec/dispensing/dispense-notification do). */
export const DISPENSED_ITEM_STATUSES: readonly string[] = [ITEM.dispensed, ITEM.notDispensed, ITEM.partlyDispensed, ITEM.notDispensedOwing, ITEM.cancelled];
/** Items still open to dispensing: with the dispenser, partly dispensed or owed. */
export const OPEN_ITEM_STATUSES: readonly string[] = [ITEM.withDispenser, ITEM.partlyDispensed, ITEM.notDispensedOwing];
/** An issue a pharmacy holds. */
export const WITH_DISPENSER: readonly string[] = [STATUS.withDispenser, STATUS.withDispenserActive];
/** An issue that has reached the end of dispensing. */
export const DISPENSING_COMPLETE: readonly string[] = [STATUS.dispensed, STATUS.notDispensed];

export function describe(status: string): string {
  return `${status} ${STATUS_DISPLAY[status] ?? 'Unknown'}`;
}
