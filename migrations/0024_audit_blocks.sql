-- The audit trail stored a block at a time: each append (a group-committed batch of records) is one
-- row, its records as JSON text and, for the auditors' searches, the patients, users, organisations
-- and time span its records name. One row and a few index keys per batch, in place of a row and four
-- index entries per record, which cost every request more than its own query did
-- (src/audit/blocks.ts). The chain itself is unchanged: the same records, hashes and chain head.

create table audit_block (
  -- the sequence of its first and last record: each block starts where the one before it ended
  first_sequence bigint primary key,
  last_sequence bigint not null check (last_sequence >= first_sequence),
  -- the earliest and latest occurred_at of its records
  occurred_from timestamptz not null,
  occurred_to timestamptz not null,
  -- the distinct NHS numbers, user ids and ODS codes its records name
  patients text[] not null,
  users text[] not null,
  organisations text[] not null,
  -- a JSON array of records, each [sequence, the record's canonical form (src/audit/chain.ts), hash]
  records text not null
);

-- A block's records run to tens of kilobytes, which PostgreSQL compresses with pglz by default at
-- a cost of several microseconds a record; lz4 costs a tenth of that (as for EPS's messages, 0020).
-- A PostgreSQL built without lz4 stores them uncompressed instead.
do $$
begin
  alter table audit_block alter column records set compression lz4;
exception when feature_not_supported then
  alter table audit_block alter column records set storage external;
end
$$;

-- Auditors search by patient, user, organisation and date, newest first (src/audit/store.ts). GIN
-- entries are written directly: a pending list would be merged by whichever append fills it, and
-- every response waiting on that append would stall (see 0021).
create index audit_block_patients on audit_block using gin (patients) with (fastupdate = off) where patients <> '{}';
create index audit_block_users on audit_block using gin (users) with (fastupdate = off) where users <> '{}';
create index audit_block_organisations on audit_block using gin (organisations) with (fastupdate = off) where organisations <> '{}';
create index audit_block_occurred on audit_block using gist (tstzrange(occurred_from, occurred_to, '[]'));

-- The records written so far, as blocks of up to 500 in sequence order, in the same form the trail
-- writes: their hashes are unchanged, so the chain verifies as it did.
with numbered as (
  select r.*, (r.sequence - 1) / 500 as block from audit_record r
), block_patients as (
  select block, array_agg(distinct patient) as patients from numbered cross join lateral unnest(patient_nhs_numbers) as patient group by block
)
insert into audit_block
select min(sequence), max(sequence), min(occurred_at), max(occurred_at), coalesce(block_patients.patients, '{}'),
  coalesce(array_agg(distinct user_id) filter (where user_id is not null), '{}'),
  coalesce(array_agg(distinct organisation_ods) filter (where organisation_ods is not null), '{}'),
  json_agg(json_build_array(sequence, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), request_id, correlation_id,
    actor_mode, user_id, role_profile_id, organisation_ods, application_id, service, interaction, outcome, status,
    to_json(patient_nhs_numbers), to_json(resource_ids), detail, prev_hash, hash) order by sequence)::text
from numbered left join block_patients using (block)
group by block, block_patients.patients;

drop table audit_record;

-- The trail as one row per record, for reading with SQL: the view unpacks the blocks.
create view audit_record as
select (element ->> 0)::bigint as sequence, (element ->> 1)::timestamptz as occurred_at, element ->> 2 as request_id,
  element ->> 3 as correlation_id, element ->> 4 as actor_mode, element ->> 5 as user_id, element ->> 6 as role_profile_id,
  element ->> 7 as organisation_ods, element ->> 8 as application_id, element ->> 9 as service, element ->> 10 as interaction,
  element ->> 11 as outcome, (element ->> 12)::integer as status,
  array(select json_array_elements_text(element -> 13)) as patient_nhs_numbers,
  array(select json_array_elements_text(element -> 14)) as resource_ids,
  element ->> 15 as detail, element ->> 16 as prev_hash, element ->> 17 as hash
from audit_block cross join lateral json_array_elements(records::json) as element;

-- Append-only, as audit_record was (0004): no change, whoever asks, short of switching the triggers off.
create trigger audit_block_append_only before update or delete on audit_block
  for each row execute function audit_refuse_change();
create trigger audit_block_no_truncate before truncate on audit_block
  for each statement execute function audit_refuse_change();

revoke update, delete, truncate on audit_block from public;
revoke update, delete, truncate on audit_block from openspine_service;
grant select, insert on audit_block to openspine_service;
grant select on audit_record to openspine_service;
