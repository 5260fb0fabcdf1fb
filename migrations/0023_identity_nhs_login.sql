-- Patients' accounts at the NHS login-shaped provider (src/identity/nhs-login.ts), and authorization
-- codes that name either a member of staff in a role profile (CIS2) or one of these accounts.
-- The claims are NHS login's (its interface specification, section 4.2).

create table identity_nhs_login_account (
  -- NHS login's subject identifier: a UUID, never reassigned
  sub text primary key,
  -- what the patient signs in with, kept in lower case
  email text not null unique check (email = lower(email)),
  password_hash text not null,
  -- how far NHS login verified who they are: P0 (not at all), P5 (medium), P9 (high)
  identity_proofing_level text not null check (identity_proofing_level in ('P0', 'P5', 'P9')),
  -- traced on PDS when they were verified: a P0 account has none
  nhs_number text check (nhs_number ~ '^[0-9]{10}$'),
  given_name text,
  family_name text,
  birthdate date,
  phone_number text,
  created_at timestamptz not null default now(),
  check (identity_proofing_level = 'P0' or nhs_number is not null)
);

alter table identity_authorization_code
  alter column user_id drop not null,
  alter column selected_role_id drop not null,
  add column nhs_login_sub text references identity_nhs_login_account (sub),
  add constraint identity_authorization_code_one_subject check (
    (user_id is not null and selected_role_id is not null and nhs_login_sub is null)
    or (user_id is null and selected_role_id is null and nhs_login_sub is not null));
