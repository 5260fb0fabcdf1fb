// REPORT messages: how MESH tells a mailbox, through its own inbox, that something went wrong
// after a send was accepted (../shared/specs/mesh/specification/mesh-api.yaml, "Asynchronous error
// reporting"). A REPORT has no body; its headers carry the status and the message it reports on.
import { newMessageId } from './message-id.ts';
import { INBOX_LIFETIME_MS, RETENTION_MS } from './send.ts';
import type { MeshMessage } from './store.ts';

/** MESH's own mailbox, the sender of every REPORT (the NHS MESH sandbox's "Central System Mailbox" has no id either). */
export const CENTRAL_SYSTEM_MAILBOX = '';

/** A report's status: the step that failed, the spec's error code, and what it says. */
export type ReportStatus = { event: string; code: string; description: string };

/**
 * The spec's error code 14 for a message left in an inbox past its five days, worded as the NHS
 * MESH sandbox words it (its ERROR_UNDELIVERED_MESSAGE, "SEND" event).
 */
export const UNDELIVERED: ReportStatus = { event: 'SEND', code: '14', description: 'Message not collected by recipient after 5 days' };

export type ReportInit = {
  /** The mailbox whose inbox the report goes to. */
  recipientId: string;
  workflowId: string;
  status: ReportStatus;
  linkedMessageId: string | null;
  /** The intended receiver of the message reported on: the report's Mex-To. */
  reportedRecipientId?: string | null;
  localId?: string | null;
  subject?: string | null;
  fileName?: string | null;
  /** The report's id; one is made from `now` when not given. */
  messageId?: string;
};

/** A REPORT ready for the recipient's inbox: accepted now, with the inbox lifetime and retention of any message. */
export function reportMessage(init: ReportInit, now: Date): MeshMessage {
  return {
    messageId: init.messageId ?? newMessageId(now), messageType: 'REPORT', senderId: CENTRAL_SYSTEM_MAILBOX, recipientId: init.recipientId, workflowId: init.workflowId,
    localId: init.localId ?? null, subject: init.subject ?? null, fileName: init.fileName ?? null, partnerId: null, contentType: null, contentEncoding: null,
    checksum: null, compressed: false, encrypted: false, chunkCount: 0, fileSize: 0, status: 'accepted', statusAt: now,
    linkedMessageId: init.linkedMessageId, reportedRecipientId: init.reportedRecipientId ?? null, statusEvent: init.status.event, statusCode: init.status.code, statusDescription: init.status.description,
    createdAt: now, acceptedAt: now, acknowledgedAt: null, inboxExpiresAt: new Date(now.getTime() + INBOX_LIFETIME_MS), deleteAfter: new Date(now.getTime() + RETENTION_MS),
  };
}

/**
 * The non-delivery report for a message that left its recipient's inbox unacknowledged: to its
 * sender, with the spec's error report headers (Mex-LinkedMsgID the message, its workflow, local id
 * and subject). Ids of one batch differ in their microseconds, so a batch never collides with itself.
 */
export function nonDeliveryReport(message: MeshMessage, now: Date, indexInBatch: number): MeshMessage {
  return reportMessage(
    {
      recipientId: message.senderId, reportedRecipientId: message.recipientId, workflowId: message.workflowId, status: UNDELIVERED, linkedMessageId: message.messageId,
      localId: message.localId, subject: message.subject, messageId: batchMessageId(now, indexInBatch),
    },
    now,
  );
}

/** `newMessageId`'s form, with the microseconds given rather than random (0 to 999). */
function batchMessageId(now: Date, index: number): string {
  const id = newMessageId(now);
  return `${id.slice(0, 17)}${String(index % 1000).padStart(3, '0')}${id.slice(20)}`;
}
