-- Password attempts at the staff (CIS2) and patient (NHS login) sign-in pages, by what was typed as
-- the account: at most five in fifteen minutes, so that passwords cannot be guessed
-- (src/identity/sign-in-attempts.ts). A sign-in that succeeds clears its account's row. Kept in the
-- database, so that every process counts the same attempts.
create table identity_sign_in_attempt (
  -- the provider and the account typed: 'cis2:555000000001', 'nhs-login:jane.smith@example.com'
  account text primary key,
  -- attempts since window_started_at
  attempts integer not null check (attempts > 0),
  window_started_at timestamptz not null
);
