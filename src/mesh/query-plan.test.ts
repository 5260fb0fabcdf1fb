// MESH's queries stay index lookups as mailboxes fill: with 60,000 messages over 600 mailboxes,
// no plan of the inbox listing, count, tracking, download or acknowledgement, alone or made
// together with others, scans a whole table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../test/support/database.ts';
import { recordQueryPlans } from '../../test/support/query-plans.ts';
import { acknowledgeTogether, downloadTogether, listTogether } from './batch-store.ts';
import { COPY_FROM_BYTES, readPart } from './body-store.ts';
import { receivingMailboxes } from './directory-store.ts';
import { countInbox, messagesByLocalId, readMessage } from './store.ts';

const ROWS = 60_000;
const { db, url } = await createTestDatabase();
await db`insert into mesh_mailbox (mailbox_id, mailbox_name, ods_code, password)
  select 'MB' || n, 'Mailbox ' || n, 'O' || (n % 200), 'p' from generate_series(1, 600) n`;
await db`insert into mesh_workflow_member (workflow_id, role, mailbox_id)
  select 'WF' || (n % 50), case when n % 2 = 0 then 'sender' else 'receiver' end, 'MB' || n from generate_series(1, 600) n`;
await db`insert into mesh_message (message_id, sender_id, recipient_id, workflow_id, local_id, chunk_count, status, status_at, created_at, delete_after)
  select lpad(n::text, 20, '0') || '_ABCDEF', 'MB' || (n % 600 + 1), 'MB' || (n * 7 % 600 + 1), 'WF' || (n % 50), 'local-' || n, 1,
         case when n % 10 = 0 then 'acknowledged' else 'accepted' end, now(), now(), now() + interval '30 days'
  from generate_series(1, ${ROWS}) n`;
await db`insert into mesh_message_chunk (message_id, chunk_number, upload_id, size, part_count, sha1, received_at)
  select message_id, 1, '00000000-0000-0000-0000-000000000000', 1, 1, 'x', now() from mesh_message`;
await db`insert into mesh_message_part (message_id, chunk_number, upload_id, part_number, data)
  select message_id, 1, '00000000-0000-0000-0000-000000000000', 0, '\\x00' from mesh_message`;
for (const table of ['mesh_mailbox', 'mesh_workflow_member', 'mesh_message', 'mesh_message_chunk', 'mesh_message_part']) await db`analyze ${db(table)}`;

const { connection, planOf } = recordQueryPlans(url, db);
const MESSAGE = `${'1234'.padStart(20, '0')}_ABCDEF`;
const OTHER_MESSAGE = `${'4321'.padStart(20, '0')}_ABCDEF`;

const QUERIES: Record<string, () => Promise<unknown>> = {
  'the inbox listing': () => listTogether(connection, { recipientId: 'MB42', after: undefined, limit: 501, filter: undefined, nonce: undefined }),
  'the inbox listing, continued': () => listTogether(connection, { recipientId: 'MB42', after: MESSAGE, limit: 501, filter: undefined, nonce: undefined }),
  'the inbox listing by workflow': () => listTogether(connection, { recipientId: 'MB42', after: undefined, limit: 501, filter: { match: 'contains', value: '_ACK', negate: true }, nonce: undefined }),
  'the inbox count': () => countInbox(connection, 'MB42'),
  'tracking by local id': () => messagesByLocalId(connection, 'MB42', 'local-41'),
  'a message': () => readMessage(connection, MESSAGE),
  'a download: the message, its chunk and its one part': () => downloadTogether(connection, { messageId: MESSAGE, chunkNumber: 1, onlyPart: { recipientId: 'MB239', below: COPY_FROM_BYTES }, nonce: undefined }),
  'a part': () => readPart(connection, { messageId: MESSAGE, chunkNumber: 1, uploadId: '00000000-0000-0000-0000-000000000000' }, 0),
  'endpoint lookup': () => receivingMailboxes(connection, 'WF7', 'O7'),
  // Several calls made together, in one statement (batch-store.ts; a batch of sends only inserts).
  'inbox listings together': () => Promise.all(['MB42', 'MB43'].map((recipientId) => listTogether(connection, { recipientId, after: MESSAGE, limit: 501, filter: undefined, nonce: undefined }))),
  'downloads together': () => Promise.all([MESSAGE, OTHER_MESSAGE].map((messageId) => downloadTogether(connection, { messageId, chunkNumber: 1, onlyPart: { recipientId: 'MB239', below: COPY_FROM_BYTES }, nonce: undefined }))),
  'acknowledgements together': () => Promise.all([MESSAGE, OTHER_MESSAGE].map((messageId) => acknowledgeTogether(connection, { recipientId: 'MB1', messageId, at: new Date(), nonce: undefined }))),
};

for (const [name, query] of Object.entries(QUERIES)) {
  test(`${name} uses an index`, async () => {
    const plan = await planOf(query);
    assert.doesNotMatch(plan, /Seq Scan on mesh_(message|message_chunk|message_part|workflow_member)\b/, plan);
  });
}
