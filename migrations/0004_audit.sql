-- The audit trail: one row per audited request or security decision, append-only and hash-chained
-- (src/audit/chain.ts). Several OpenSpine processes append to the one chain through its head row.

create table audit_record (
  -- the record's place in the chain: 1, 2, 3... with no gaps
  sequence bigint primary key,
  occurred_at timestamptz not null,
  request_id text not null,
  correlation_id text,
  -- who: null when the caller could not be authenticated
  actor_mode text,
  user_id text,
  role_profile_id text,
  organisation_ods text,
  application_id text,
  -- what
  service text not null,
  interaction text not null,
  outcome text not null check (outcome in ('success', 'denied', 'failure')),
  status integer not null,
  patient_nhs_numbers text[] not null,
  resource_ids text[] not null,
  detail text,
  -- sha256 (hex) of the record before (64 zeros for the first), and of this record with it
  prev_hash text not null,
  hash text not null
);

-- Auditors search by patient, user, organisation and date, newest first (src/audit/store.ts).
-- Every request writes a record, so each index is a cost on every request: records of system and
-- application calls skip the patient, user and organisation indexes (partial).
create index audit_record_patient on audit_record using gin (patient_nhs_numbers) where patient_nhs_numbers <> '{}';
create index audit_record_user on audit_record (user_id, occurred_at, sequence) where user_id is not null;
create index audit_record_organisation on audit_record (organisation_ods, occurred_at, sequence) where organisation_ods is not null;
create index audit_record_occurred_at on audit_record (occurred_at, sequence);

-- The end of the chain: locked by each append, so that appends from every process form one chain.
create table audit_chain_head (
  id integer primary key check (id = 1),
  sequence bigint not null,
  hash text not null
);
insert into audit_chain_head (id, sequence, hash) values (1, 0, repeat('0', 64));

-- Append-only. OpenSpine's role owns these tables (and is a superuser with the embedded
-- PostgreSQL), so privileges alone would not stop it: these triggers refuse every change, whoever
-- asks, short of `alter table ... disable trigger`, which takes the owner or a superuser acting on
-- purpose. Against that the hash chain remains: `openspine audit verify` finds what was changed.
create function audit_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'the audit trail is append-only: % on % is refused', tg_op, tg_table_name
    using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_record_append_only before update or delete on audit_record
  for each row execute function audit_refuse_change();
create trigger audit_record_no_truncate before truncate on audit_record
  for each statement execute function audit_refuse_change();

-- The head only moves forward; it is never removed.
create function audit_chain_head_forward_only() returns trigger language plpgsql as $$
begin
  if new.id <> old.id or new.sequence <= old.sequence then
    raise exception 'the audit chain head only moves forward (from % to %)', old.sequence, new.sequence
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;

create trigger audit_chain_head_forward before update on audit_chain_head
  for each row execute function audit_chain_head_forward_only();
create trigger audit_chain_head_kept before delete on audit_chain_head
  for each row execute function audit_refuse_change();
create trigger audit_chain_head_no_truncate before truncate on audit_chain_head
  for each statement execute function audit_refuse_change();

-- PostgreSQL grants PUBLIC nothing on a new table; the revokes say so on purpose. A role given
-- access later (a non-owner role for OpenSpine on a cluster) should get insert and select on
-- audit_record, and select and update on audit_chain_head, nothing more.
revoke update, delete, truncate on audit_record from public;
revoke delete, truncate on audit_chain_head from public;
