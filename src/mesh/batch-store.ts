// MESH's busiest calls (send a small message, list an inbox, download, acknowledge) made together,
// from any mailboxes, as one statement of each kind (nonce-batch.ts); a call alone runs the same
// statement for itself.
//
// PostgreSQL expects 100 rows of a batch's jsonb_to_recordset, whatever it holds: a plain join of
// the calls with a table is planned as a hash join over a scan of the whole table while the table
// is small, and that plan lasts as the table grows (mesh-small's download batch took 2.8 ms at 15 s
// and 7.1 ms at 45 s). So each call's rows are looked up by key (`lateral (... limit 1)`, or
// `= any(array(...))`), which no size of table makes a scan.
import type { Database } from '../platform/db/connect.ts';
import { perDatabase } from '../platform/db/coalesce.ts';
import { callOutcome, callsInput, freshCalls, nonceBatched, nonceColumns, type CallRow, type NonceCall } from './nonce-batch.ts';
import {
  chunkToFind, messageRow, toDownload, toMessage, type ChunkRecord, type DownloadRecord, type DownloadRow, type MeshMessage, type MessageRow, type WorkflowFilter,
} from './store.ts';

/**
 * The most messages one send batch takes: their bodies are under COPY_FROM_BYTES (body-store.ts;
 * send.ts sends only those in one part), carried as base64 in its JSON, so a batch holds at most
 * 4 MiB of them.
 */
const MAX_SENDS_BATCHED = 64;
/** The most downloads one batch takes: each may bring a body of up to COPY_FROM_BYTES back. */
const MAX_DOWNLOADS_BATCHED = 64;

/**
 * The columns of a message's row (store.ts, messageRow), each set from the batch's JSON as the
 * single insert sets it (and only those: a column left out keeps its default). Names of our own
 * table, written into the SQL as they are; the client's identifier helper would shape them as
 * an insert's values after `insert into`.
 */
const MESSAGE_COLUMNS = Object.keys(messageRow({} as MeshMessage));

export type SendCall = NonceCall & { message: MeshMessage; chunk: Omit<ChunkRecord, 'chunkNumber' | 'partCount'>; data: Buffer };

/**
 * A message in one part under COPY_FROM_BYTES, its chunk and the part, in one statement (so one
 * round trip and one commit). The parts of larger chunks are written as they arrive instead
 * (upload.ts), and their chunk committed after (store.ts, addChunk).
 */
export function sendTogether(db: Database, call: SendCall): Promise<void> {
  return sendBatch(db)(call);
}

const sendBatch = perDatabase((db) => nonceBatched<SendCall, void, CallRow>(
  (calls) => db`
    with input as (
      select * from jsonb_to_recordset(${callsInput(db, calls, (call) => ({
        message: messageRow(call.message), upload_id: call.chunk.uploadId, size: call.chunk.size, sha1: call.chunk.sha1, received_at: call.chunk.receivedAt, data: call.data.toString('base64'),
      }))}::jsonb) as i(${nonceColumns(db)}, message jsonb, upload_id uuid, size bigint, sha1 text, received_at timestamptz, data text)),
      ${freshCalls(db)},
      message as (
        insert into mesh_message (${db.unsafe(MESSAGE_COLUMNS.join(', '))})
        select ${db.unsafe(MESSAGE_COLUMNS.map((column) => `r.${column}`).join(', '))} from fresh f, jsonb_populate_record(null::mesh_message, f.message) r
        returning message_id),
      sent as (select f.*, m.message_id from fresh f join message m on m.message_id = f.message ->> 'message_id'),
      chunk as (
        insert into mesh_message_chunk (message_id, chunk_number, upload_id, size, part_count, sha1, received_at)
        select message_id, 1, upload_id, size, 1, sha1, received_at from sent),
      part as (
        insert into mesh_message_part (message_id, chunk_number, upload_id, part_number, data)
        select message_id, 1, upload_id, 0, decode(data, 'base64') from sent)
    select ${callOutcome(db)} from input i order by i.ord`,
  () => undefined,
  MAX_SENDS_BATCHED,
));

export type ListCall = NonceCall & { recipientId: string; after: string | undefined; limit: number; filter: WorkflowFilter | undefined };

/**
 * A recipient's inbox in id order (ids begin with their time), after `after`, at most `limit`, and
 * how many messages the whole inbox holds.
 */
export function listTogether(db: Database, call: ListCall): Promise<{ messageIds: string[]; count: number }> {
  return listBatch(db)(call);
}

const listBatch = perDatabase((db) => nonceBatched<ListCall, { messageIds: string[]; count: number }, CallRow & { message_ids: string[] | null; count: number | null }>(
  (calls) => db`
    with input as (
      select * from jsonb_to_recordset(${callsInput(db, calls, (call) => ({
        recipient_id: call.recipientId, after: call.after ?? '', row_limit: call.limit,
        filter_match: call.filter?.match ?? null, filter_value: call.filter?.value ?? null, filter_negate: call.filter?.negate ?? false,
      }))}::jsonb) as i(${nonceColumns(db)}, recipient_id text, after text, row_limit int, filter_match text, filter_value text, filter_negate boolean)),
      ${freshCalls(db)}
    select ${callOutcome(db)},
      case when f.ord is not null then array(
        select m.message_id from mesh_message m
        where m.recipient_id = f.recipient_id and m.status = 'accepted' and m.message_id > f.after
          and (f.filter_match is null or (case f.filter_match
            when 'equals' then m.workflow_id = f.filter_value
            when 'begins' then starts_with(m.workflow_id, f.filter_value)
            else strpos(m.workflow_id, f.filter_value) > 0 end) <> f.filter_negate)
        order by m.message_id
        limit f.row_limit) end as message_ids,
      case when f.ord is not null then (select count(*)::int from mesh_message m where m.recipient_id = f.recipient_id and m.status = 'accepted') end as count
    from input i left join fresh f on f.ord = i.ord
    order by i.ord`,
  (row) => ({ messageIds: row.message_ids ?? [], count: row.count ?? 0 }),
));

export type DownloadCall = NonceCall & { messageId: string; chunkNumber: number; onlyPart: { recipientId: string; below: number } | undefined };

/**
 * A message with one of its chunks; and with that chunk's bytes too when they are one part smaller
 * than `onlyPart.below` and the message is in `onlyPart.recipientId`'s inbox (a small message's
 * download then takes this one statement).
 */
export function downloadTogether(db: Database, call: DownloadCall): Promise<DownloadRecord | undefined> {
  return downloadBatch(db)(call);
}

const downloadBatch = perDatabase((db) => nonceBatched<DownloadCall, DownloadRecord | undefined, CallRow & DownloadRow & { chunk_asked: number }>(
  (calls) => db`
    with input as (
      select * from jsonb_to_recordset(${callsInput(db, calls, (call) => ({
        message_id: call.messageId, chunk_number: chunkToFind(call.chunkNumber), part_recipient: call.onlyPart?.recipientId ?? null, part_below: call.onlyPart?.below ?? null,
      }))}::jsonb) as i(${nonceColumns(db)}, message_id text, chunk_number int, part_recipient text, part_below bigint)),
      ${freshCalls(db)}
    select ${callOutcome(db)}, f.chunk_number as chunk_asked, d.*
    from input i left join fresh f on f.ord = i.ord
      left join lateral (
        select m.*, c.upload_id, c.size, c.part_count, c.sha1, c.received_at,
          case when c.part_count = 1 and c.size < f.part_below and m.recipient_id = f.part_recipient and m.status = 'accepted' then
            (select p.data from mesh_message_part p where p.message_id = c.message_id and p.chunk_number = c.chunk_number and p.upload_id = c.upload_id and p.part_number = 0)
          end as data
        from mesh_message m left join mesh_message_chunk c on c.message_id = m.message_id and c.chunk_number = f.chunk_number
        where m.message_id = f.message_id
        limit 1) d on true
    order by i.ord`,
  (row) => (row.message_id === null ? undefined : toDownload(row, row.chunk_asked)),
  MAX_DOWNLOADS_BATCHED,
));

export type AcknowledgeCall = NonceCall & { recipientId: string; messageId: string; at: Date };

/** Takes an accepted message out of its recipient's inbox as acknowledged; undefined when it was not there to take. */
export function acknowledgeTogether(db: Database, call: AcknowledgeCall): Promise<MeshMessage | undefined> {
  return acknowledgeBatch(db)(call);
}

/**
 * Two acknowledgements of one message by its recipient in a batch: the first takes it, the other
 * finds it taken, as one after the other would. Someone else's acknowledgement of it is kept apart
 * (by recipient) and takes nothing.
 */
const acknowledgeBatch = perDatabase((db) => nonceBatched<AcknowledgeCall, MeshMessage | undefined, CallRow & Partial<MessageRow>>(
  (calls) => db`
    with input as (
      select * from jsonb_to_recordset(${callsInput(db, calls, (call) => ({ message_id: call.messageId, recipient_id: call.recipientId, at: call.at }))}::jsonb)
        as i(${nonceColumns(db)}, message_id text, recipient_id text, at timestamptz)),
      ${freshCalls(db)},
      acknowledged as (
        update mesh_message m set status = 'acknowledged', status_at = f.at, acknowledged_at = f.at
        from (select distinct on (message_id, recipient_id) * from fresh order by message_id, recipient_id, ord) f
        where m.message_id = any(array(select message_id from fresh)) and m.message_id = f.message_id and m.recipient_id = f.recipient_id and m.status = 'accepted'
        returning f.ord as acknowledged_ord, m.*)
    select ${callOutcome(db)}, a.* from input i left join acknowledged a on a.acknowledged_ord = i.ord order by i.ord`,
  (row) => (row.message_id == null ? undefined : toMessage(row as MessageRow)),
));
