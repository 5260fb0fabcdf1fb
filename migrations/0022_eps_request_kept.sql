-- A release's answer holds the signed bundles it released (up to 25 of about 24 KB each). Kept
-- whole for a day of retries, that was most of what EPS wrote. A write may now keep instead what
-- its answer is rebuilt from (for a release: its ids, its timestamps and the prescriptions' short
-- ids; the bundles are read again from eps_prescription, where they never change): `kept` says
-- which of the two `response` holds (src/eps/request-log.ts).
alter table eps_request add column kept boolean not null default false;
