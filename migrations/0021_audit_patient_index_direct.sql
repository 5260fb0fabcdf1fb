-- The audit trail's patient index (GIN, migration 0004) took new entries into a pending list that
-- the appending transaction itself merges once the list is full: every few seconds under load, one
-- batch of audit records, and every response waiting for it, stalled on the merge. Written directly,
-- each record costs a little more and none costs a stall: `npm run bench -- pds-read --patients
-- 100000`, three A/B pairs in one hour, p99 27.3/27.1/23.8 ms against 29.7/37.1/27.0 ms with the
-- pending list, and the slowest answer 43-68 ms against 71-83 ms.
alter index audit_record_patient set (fastupdate = off);
