-- Indexes no query uses, which every order and every change of an issue paid for: the tracker finds
-- prescriptions by id or patient only (src/eps/tracker.ts), the expiry sweep by eps_issue_expiry
-- and nominated release by eps_issue_release. An issue's update changes updated_at, so it could
-- never be a HOT update and wrote an entry into each of these.
drop index if exists eps_issue_status;
drop index if exists eps_issue_dispenser;
drop index if exists eps_prescription_created;
