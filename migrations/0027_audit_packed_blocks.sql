-- Blocks of the audit trail stored compressed: each new block's records go into `packed`, their
-- JSON text compressed with Zstandard by OpenSpine (src/audit/packing.ts), a quarter of the bytes
-- that PostgreSQL would otherwise write, log and keep. Blocks written before keep their text in
-- `records`; a block has exactly one of the two. Existing rows are not rewritten: the table is
-- append-only, and at national scale large.

alter table audit_block alter column records drop not null;
alter table audit_block add column packed bytea;
-- Not validated: every row present has its text and no packed form, and a scan of a national trail
-- would hold its lock meanwhile. New and changed rows are checked.
alter table audit_block add constraint audit_block_one_form check (num_nonnulls(records, packed) = 1) not valid;
-- Already compressed: PostgreSQL should not try again (external: no compression; out of line when large).
alter table audit_block alter column packed set storage external;

-- The view unpacked the JSON in SQL, which PostgreSQL cannot do for compressed blocks: the trail is
-- read through OpenSpine (AuditEvent search, `openspine audit records`, `openspine audit verify`).
drop view audit_record;
