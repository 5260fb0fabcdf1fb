// What MESH answers, field for field as ../shared/specs/mesh/specification/mesh-api.yaml shows it,
// in both response versions: v2 for `Accept: application/vnd.mesh.v2+json`, v1 otherwise.
import type { Mailbox, MailboxSummary } from './directory-store.ts';
import type { MeshError } from './errors.ts';
import { compactTime, isoSeconds } from './message-id.ts';
import type { ChunkRecord, MeshMessage } from './store.ts';

export type ApiVersion = 1 | 2;
export const MEDIA_TYPES: Record<ApiVersion, string> = { 1: 'application/json', 2: 'application/vnd.mesh.v2+json' };

/** "If not specified `Accept: application/json` will be assumed and the lowest supported response version ... returned." */
export function apiVersion(accept: string | undefined): ApiVersion {
  const match = /application\/vnd\.mesh\.v(\d+)\+json/i.exec(accept ?? '');
  return match && Number(match[1]) >= 2 ? 2 : 1;
}

export const sentView = (messageId: string, version: ApiVersion) => (version === 2 ? { message_id: messageId } : { messageID: messageId });

/** The two shapes of an error body (the spec's MeshError, 417 and the rest alike). */
export function errorView(error: MeshError, version: ApiVersion, internalId: string): Record<string, unknown> {
  if (version === 2) {
    return { ...(error.messageId ? { message_id: error.messageId } : {}), internal_id: internalId, detail: [{ event: error.event, code: error.code, msg: error.description }] };
  }
  return { ...(error.messageId ? { messageID: error.messageId } : {}), errorEvent: error.event, errorCode: error.code, errorDescription: error.description };
}

/** Where a message stands, as tracking and the download headers report it. */
type StatusReport = { success: boolean | null; event: string | null; code: string | null; description: string | null; at: Date };

function statusOf(message: MeshMessage): StatusReport {
  switch (message.status) {
    case 'uploading':
      return { success: null, event: null, code: null, description: null, at: message.statusAt };
    case 'accepted':
    case 'acknowledged':
      if (message.messageType === 'REPORT') break;
      return { success: true, event: 'TRANSFER', code: '00', description: 'Transferred to recipient mailbox', at: message.statusAt };
    case 'undeliverable':
      return { success: false, event: message.statusEvent ?? 'SEND', code: message.statusCode ?? '14', description: message.statusDescription ?? 'Message not collected by recipient after 5 days', at: message.statusAt };
    case 'error':
      break;
  }
  return { success: false, event: message.statusEvent, code: message.statusCode, description: message.statusDescription, at: message.statusAt };
}

const successWord = (success: boolean | null) => (success === null ? null : success ? 'SUCCESS' : 'ERROR');
const title = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const smtp = (mailboxId: string) => `${mailboxId.toLowerCase()}@dts.nhs.uk`;
const fileNameOf = (message: MeshMessage) => message.fileName ?? `${message.messageId}.dat`;

export function trackingV2(message: MeshMessage, recipient: Mailbox | undefined): Record<string, unknown> {
  const status = statusOf(message);
  return {
    message_id: message.messageId,
    local_id: message.localId,
    workflow_id: message.workflowId,
    filename: fileNameOf(message),
    expiry_time: message.inboxExpiresAt && compactTime(message.inboxExpiresAt),
    upload_timestamp: compactTime(message.createdAt),
    recipient: message.recipientId,
    recipient_name: recipient?.mailboxName ?? null,
    recipient_ods_code: recipient?.odsCode ?? null,
    recipient_org_code: recipient?.orgCode ?? null,
    recipient_org_name: recipient?.orgName ?? null,
    status_success: status.success,
    status: message.status,
    status_event: status.event,
    status_timestamp: isoSeconds(status.at),
    status_description: status.description,
    status_code: status.code,
  };
}

export function trackingV1(message: MeshMessage, sender: Mailbox, recipient: Mailbox | undefined): Record<string, unknown> {
  const status = statusOf(message);
  const failed = message.status === 'undeliverable' || message.status === 'error';
  return {
    addressType: 'ALL',
    checksum: message.checksum,
    chunkCount: message.chunkCount,
    compressFlag: message.compressed ? 'Y' : null,
    contentEncoding: message.contentEncoding ?? '',
    downloadTimestamp: message.acknowledgedAt && compactTime(message.acknowledgedAt),
    dtsId: message.messageId,
    encryptedFlag: message.encrypted ? 'Y' : null,
    expiryTime: message.inboxExpiresAt && compactTime(message.inboxExpiresAt),
    failureDate: failed ? compactTime(status.at) : null,
    failureDiagnostic: failed ? status.description : null,
    fileName: fileNameOf(message),
    fileSize: message.fileSize,
    isCompressed: message.compressed ? 'Y' : null,
    linkedMsgId: message.linkedMessageId,
    localId: message.localId,
    meshRecipientOdsCode: recipient?.odsCode ?? null,
    messageId: message.messageId,
    messageType: message.messageType,
    partnerId: message.partnerId,
    processId: null,
    recipient: message.recipientId,
    recipientBillingEntity: recipient?.billingEntity ?? null,
    recipientName: recipient?.mailboxName ?? null,
    recipientOrgCode: recipient?.orgCode ?? null,
    recipientOrgName: recipient?.orgName ?? null,
    recipientSmtp: smtp(message.recipientId),
    sender: message.senderId,
    senderBillingEntity: sender.billingEntity,
    senderName: sender.mailboxName,
    senderOdsCode: sender.odsCode,
    senderOrgCode: sender.orgCode,
    senderOrgName: sender.orgName,
    senderSmtp: smtp(message.senderId),
    status: title(message.status),
    statusCode: status.code,
    statusDescription: status.description,
    statusEvent: status.event,
    statusSuccess: successWord(status.success),
    statusTimestamp: status.success === null ? null : compactTime(status.at),
    subject: message.subject,
    uploadTimestamp: compactTime(message.createdAt),
    version: '1.0',
    workflowId: message.workflowId,
  };
}

/**
 * The headers of a download: everything the sender said of the message (mex-*, Content-Encoding
 * untouched) and where it stands. Empty ones are left out, as MESH leaves them out.
 */
export function downloadHeaders(message: MeshMessage, chunkNumber: number, chunk: ChunkRecord | undefined): Record<string, string> {
  const status = statusOf(message);
  const report = message.messageType === 'REPORT';
  const headers: Record<string, string | null | undefined> = {
    'content-type': report ? 'application/octet-stream' : (message.contentType ?? 'application/octet-stream'),
    'content-encoding': report ? null : message.contentEncoding,
    'content-length': String(chunk?.size ?? 0),
    etag: chunk && `"${chunk.sha1}"`,
    'last-modified': message.statusAt.toUTCString(),
    'mex-messageid': message.messageId,
    'mex-messagetype': message.messageType,
    'mex-from': message.senderId,
    // A REPORT names the intended receiver of the message it reports on (the spec's error report headers).
    'mex-to': message.reportedRecipientId ?? message.recipientId,
    'mex-workflowid': message.workflowId,
    'mex-chunk-range': report ? null : `${chunkNumber}:${message.chunkCount}`,
    'mex-addresstype': 'ALL',
    'mex-localid': message.localId,
    'mex-partnerid': message.partnerId,
    'mex-filename': report ? message.fileName : fileNameOf(message),
    'mex-subject': message.subject,
    'mex-content-checksum': message.checksum,
    'mex-content-compressed': message.compressed ? 'Y' : 'N',
    'mex-content-encrypted': message.encrypted ? 'Y' : 'N',
    'mex-version': '1.0',
    'mex-statussuccess': successWord(status.success),
    'mex-statusevent': status.event,
    'mex-statuscode': status.code,
    'mex-statusdescription': status.description,
    'mex-statustimestamp': compactTime(status.at),
    'mex-linkedmsgid': message.linkedMessageId,
  };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== ''));
}

export function endpointLookupView(mailboxes: MailboxSummary[], version: ApiVersion, queryId: string): Record<string, unknown> {
  if (version === 2) return workflowSearchView(mailboxes);
  return { query_id: queryId, results: mailboxes.map((mailbox) => ({ address: mailbox.mailboxId, description: mailbox.mailboxName, endpoint_type: 'MESH' })) };
}

/** Workflow search answers in the v2 shape whatever the version, as the spec shows it. */
export function workflowSearchView(mailboxes: MailboxSummary[]): Record<string, unknown> {
  return { results: mailboxes.map((mailbox) => ({ mailbox_id: mailbox.mailboxId, mailbox_name: mailbox.mailboxName })) };
}
