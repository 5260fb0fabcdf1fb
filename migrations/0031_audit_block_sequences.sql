-- A block's records are numbered from 1, first to last: the service role may insert blocks, and one
-- numbered below 1 lay outside every walk of `audit verify` while searches showed its records.
-- NOT VALID: a trail that already holds such a block still starts, and `audit verify` names it
-- ('before the first'); every block inserted from now on is checked.
alter table audit_block add constraint audit_block_sequences check (first_sequence >= 1 and last_sequence >= first_sequence) not valid;
