// MESH's errors, read side by side with the spec's error table (../shared/specs/mesh/specification/
// mesh-api.yaml, "Error codes") and the codes the NHS MESH sandbox adds (../shared/specs/README.md
// section 3). MESH answers in its own JSON, not an OperationOutcome; routes.ts renders these.

/** Where in MESH's processing an error happened, as the error bodies name it. */
export type MeshErrorEvent = 'SEND' | 'COLLECT' | 'RECEIVE' | 'TRANSFER' | 'AUTH' | '';

export type MeshErrorInit = {
  status: number;
  description: string;
  event?: MeshErrorEvent;
  /** The spec's code ('02', '06', '12'...) or the sandbox's named ones ('InvalidHeaderChunks'). */
  code?: string;
  /** The message the error is about, when there is one (417 bodies carry it). */
  messageId?: string;
};

export class MeshError extends Error {
  readonly status: number;
  readonly description: string;
  readonly event: MeshErrorEvent;
  readonly code: string;
  readonly messageId: string | undefined;

  constructor(init: MeshErrorInit) {
    super(init.description);
    this.name = 'MeshError';
    this.status = init.status;
    this.description = init.description;
    this.event = init.event ?? '';
    this.code = init.code ?? '';
    this.messageId = init.messageId;
  }

  /** The same error about a message (the 417 bodies name the message they refused). */
  about(messageId: string): MeshError {
    return new MeshError({ status: this.status, description: this.description, event: this.event, code: this.code, messageId });
  }
}

const send = (status: number, code: string, description: string, event: MeshErrorEvent = 'SEND') => new MeshError({ status, event, code, description });

export const MeshErrors = {
  // Authentication: every refusal is a 403, as MESH gives it (the spec's "Authentication failed").
  unreadableToken: () => new MeshError({ status: 403, event: 'AUTH', description: 'Error reading from Authorization header' }),
  mailboxTokenMismatch: () => new MeshError({ status: 403, event: 'AUTH', description: 'Mailbox id does not match token' }),
  noSuchMailbox: () => new MeshError({ status: 403, event: 'AUTH', description: 'No mailbox matched' }),
  inactiveMailbox: () => new MeshError({ status: 403, event: 'AUTH', description: 'Request Received from Inactive Mailbox' }),
  staleToken: () => new MeshError({ status: 403, event: 'AUTH', description: 'Invalid Authentication Token: its timestamp is more than 2 hours from the server time' }),
  invalidToken: () => new MeshError({ status: 403, event: 'AUTH', description: 'Invalid Authentication Token' }),
  replayedToken: () => new MeshError({ status: 403, event: 'AUTH', description: 'Error Duplicated Authentication Token' }),

  // Sending (the spec's codes; a missing Mex-To is a 400, as the sandbox gives it).
  missingRecipient: () => send(400, '08', 'TO_DTS missing'),
  malformedHeaders: (detail: string) => send(417, '06', `Malformed headers: ${detail}`),
  invalidFrom: () => send(417, '07', 'Invalid From Address, the mailbox does not match the authorization header'),
  invalidMessageType: () => send(417, '11', 'Invalid Message Type for the transfer, should be DATA'),
  unregisteredRecipient: () => send(417, '12', 'Unregistered to address'),
  senderNotAllowed: () => send(417, '16', 'Sender is not allowed to send messages of this type'),
  workflowNotRegistered: () => send(417, '17', 'Workflow ID not registered for mailbox'),
  missingData: () => send(417, '02', 'Data file is missing or inaccessible.', 'COLLECT'),
  unsupportedContentEncoding: () => send(422, 'UnsupportedContentEncoding', 'Unsupported content encoding: send gzip or none'),
  invalidChunkRange: (detail: string) => send(417, 'InvalidHeaderChunks', `Invalid chunk values sent in mex-Chunk-Range header: ${detail}`),
  chunkAlreadyReceived: (chunk: number) => send(417, 'InvalidHeaderChunks', `Chunk ${chunk} of this message has already been received`),
  contentEncodingChanged: () => send(417, 'ContentEncodingChanged', 'cannot change content encoding'),
  tooLarge: (limit: number) => send(413, 'PayloadTooLarge', `A request may carry at most ${limit} bytes; send larger messages in chunks`),
  finalised: () => new MeshError({ status: 423, event: 'SEND', description: 'Message has been finalised; no more chunks can be uploaded' }),

  // Receiving and tracking.
  messageNotFound: () => new MeshError({ status: 404, event: 'RECEIVE', code: '20', description: 'Message does not exist' }),
  notYourMessage: () => new MeshError({ status: 403, event: 'RECEIVE', description: 'The message is not addressed to this mailbox' }),
  gone: () => new MeshError({ status: 410, event: 'RECEIVE', description: 'Message no longer available for download' }),
  manyLocalIds: () => new MeshError({ status: 300, event: 'RECEIVE', description: 'More than one message has this local id: track it by message id' }),

  invalidRequest: (detail: string) => new MeshError({ status: 400, description: detail }),
};
