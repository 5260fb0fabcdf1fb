-- A REPORT's Mex-To is the intended receiver of the message it reports on, not the mailbox it is
-- delivered to (../shared/specs/mesh/specification/mesh-api.yaml, "Error Report Header" table).
alter table mesh_message add column reported_recipient_id text;
comment on column mesh_message.reported_recipient_id is 'For a REPORT: the intended receiver of the message it reports on (its Mex-To)';
