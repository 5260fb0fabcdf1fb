-- MESH processes remember mailboxes and workflow permissions for a few seconds (src/mesh/
-- directory-cache.ts). Any change that could take access away tells every process at once, on
-- the channel mesh_directory, whoever makes it (another process, the openspine command, plain
-- SQL): a listening process forgets what it remembers. A handshake, which touches only the
-- handshake columns, tells nobody. NOTIFY is sent when the change commits, and not at all when
-- it rolls back; several in one transaction arrive as one.
create function mesh_directory_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify('mesh_directory', '');
  return null;
end;
$$;

create trigger mesh_mailbox_changed
  after update of mailbox_id, mailbox_name, ods_code, org_code, org_name, billing_entity, password, active or delete or truncate on mesh_mailbox
  for each statement execute function mesh_directory_changed();

create trigger mesh_workflow_member_changed
  after update or delete or truncate on mesh_workflow_member
  for each statement execute function mesh_directory_changed();
