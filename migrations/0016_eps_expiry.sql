-- EPS expiry (status 0004): each issue carries when it stops being dispensable, so that the expiry
-- sweep finds what is due with one range of a small partial index, a bounded batch at a time
-- (FOR UPDATE SKIP LOCKED, so that several processes share the work).
alter table eps_issue add column expires_at timestamptz;
update eps_issue set expires_at = eps_prescription.expires_at from eps_prescription where eps_prescription.short_id = eps_issue.short_id;
-- Only the issues that can still expire: to be dispensed, with a dispenser, or future repeat-dispensing issues.
create index eps_issue_expiry on eps_issue (expires_at) where status in ('0001', '0002', '9000');
