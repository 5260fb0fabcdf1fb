-- MESH, secure store-and-forward messaging between mailboxes (../shared/specs/mesh/specification/mesh-api.yaml):
-- mailboxes, the workflows that say who may send to whom, messages with their bodies kept in
-- bounded parts, and the NHSMESH tokens already used.

create table mesh_mailbox (
  mailbox_id text primary key,
  mailbox_name text not null,
  ods_code text not null,
  org_code text,
  org_name text,
  billing_entity text,
  -- The NHSMESH header is an HMAC over the password itself, so the server must know the password:
  -- a one-way hash cannot check it. Only the owner and openspine_service can read this table.
  password text not null,
  active boolean not null default true,
  -- The last handshake (POST /messageexchange/{mailbox_id}): when, and the client's own account of itself.
  handshake_at timestamptz,
  client_version text,
  os_name text,
  os_version text
);

-- Endpoint lookup: the mailboxes of an ODS code.
create index mesh_mailbox_by_ods on mesh_mailbox (ods_code);

-- Who may send (role 'sender') and receive (role 'receiver') each workflow. No foreign key to
-- mesh_mailbox: a workflows file may be loaded before the mailboxes it names.
create table mesh_workflow_member (
  workflow_id text not null,
  role text not null check (role in ('sender', 'receiver')),
  mailbox_id text not null,
  primary key (workflow_id, role, mailbox_id)
);

create table mesh_message (
  -- YYYYMMDDHHMMSSffffff_XXXXXX, as MESH gives them.
  message_id text primary key,
  message_type text not null default 'DATA' check (message_type in ('DATA', 'REPORT')),
  sender_id text not null,
  recipient_id text not null,
  workflow_id text not null,
  local_id text,
  subject text,
  file_name text,
  partner_id text,
  content_type text,
  -- Content-Encoding as sent (gzip or none): carried through to the recipient untouched.
  content_encoding text,
  checksum text,
  compressed boolean not null default false,
  encrypted boolean not null default false,
  chunk_count integer not null check (chunk_count >= 0),
  file_size bigint not null default 0,
  status text not null check (status in ('uploading', 'accepted', 'acknowledged', 'undeliverable', 'error')),
  status_at timestamptz not null,
  -- A REPORT's account of the message it reports on (Mex-LinkedMsgID, Mex-StatusCode...).
  linked_message_id text,
  status_event text,
  status_code text,
  status_description text,
  created_at timestamptz not null,
  accepted_at timestamptz,
  acknowledged_at timestamptz,
  -- Not acknowledged by then: out of the inbox, and a REPORT (code 14) to the sender (5 days).
  inbox_expires_at timestamptz,
  -- Deleted, whatever its state, after this (30 days).
  delete_after timestamptz not null
);

-- The inbox: listing and counting a recipient's accepted messages in id (time) order, filtered by workflow.
create index mesh_message_inbox on mesh_message (recipient_id, message_id) include (workflow_id) where status = 'accepted';
-- Tracking by local id (and an outbox listing by sender).
create index mesh_message_by_sender on mesh_message (sender_id, local_id);
-- The sweeps: inbox expiry, and deletion.
create index mesh_message_inbox_expiry on mesh_message (inbox_expires_at) where status = 'accepted';
create index mesh_message_deletion on mesh_message (delete_after);

-- Each chunk (1 of n) received and committed; a chunk's bytes are the parts of its upload.
create table mesh_message_chunk (
  message_id text not null references mesh_message (message_id) on delete cascade,
  chunk_number integer not null check (chunk_number >= 1),
  -- The upload whose parts are this chunk: a second, concurrent upload of the same chunk writes
  -- parts of its own and loses at the commit, so two never mix.
  upload_id uuid not null,
  size bigint not null,
  part_count integer not null,
  sha1 text not null,
  received_at timestamptz not null,
  primary key (message_id, chunk_number)
);

-- The bytes, in parts of at most 1 MiB, so that no message is ever held whole in memory: an upload
-- writes its parts as they arrive and a download reads them one by one.
create table mesh_message_part (
  message_id text not null references mesh_message (message_id) on delete cascade,
  chunk_number integer not null,
  upload_id uuid not null,
  part_number integer not null,
  data bytea not null,
  primary key (message_id, chunk_number, upload_id, part_number)
);
-- Message bodies are mostly compressed or encrypted already: storing them uncompressed saves the CPU
-- that TOAST compression would spend for nothing.
alter table mesh_message_part alter column data set storage external;

-- NHSMESH tokens are single-use: a nonce and nonce count seen once are refused after, in every
-- process, for as long as the token's timestamp would still be accepted (2 hours either side).
create table mesh_auth_nonce (
  mailbox_id text not null,
  nonce text not null,
  nonce_count text not null,
  expires_at timestamptz not null,
  primary key (mailbox_id, nonce, nonce_count)
);
create index mesh_auth_nonce_expiry on mesh_auth_nonce (expires_at);

grant select, insert, update, delete on mesh_mailbox, mesh_workflow_member, mesh_message, mesh_message_chunk, mesh_message_part, mesh_auth_nonce to openspine_service;
