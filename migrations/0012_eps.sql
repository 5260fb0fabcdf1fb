-- Electronic Prescription Service: prescriptions as signed, their issues (one for an acute or a
-- repeat prescription, one per authorised issue for repeat dispensing) with the line items of
-- each, the event history the tracker shows, and the prescribers' signing certificates.
-- Statuses are the EPS-task-business-status codes (../shared/specs/README.md section 2).

-- A prescription as the prescriber signed it; what changes over its life is on its issues.
create table eps_prescription (
  -- the short form, e.g. 24F5DA-A83008-7EFE6Z, MOD 37-2 checked before it is stored
  short_id text primary key check (short_id ~ '^[0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+]$'),
  long_id uuid not null unique,
  patient_nhs_number text not null check (patient_nhs_number ~ '^[0-9]{10}$'),
  prescriber_ods text not null,
  prescriber_role_profile_id text not null,
  prescriber_user_id text not null,
  -- the pharmacy the prescription is nominated to (from the bundle, else the patient's PDS record)
  nominated_ods text,
  -- acute, continuous (repeat prescribing) or continuous-repeat-dispensing
  course_of_therapy text not null,
  -- how many issues repeat dispensing allows; 1 otherwise
  issues_authorised integer not null default 1 check (issues_authorised between 1 and 99),
  -- the signed prescription-order bundle as received
  bundle jsonb not null,
  -- who asked for a cancellation the dispenser has not yet let happen (R-0002, R-0003, R-0007)
  cancel_requested_by text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index eps_prescription_patient on eps_prescription (patient_nhs_number, created_at);
create index eps_prescription_created on eps_prescription (created_at);

-- One dispensing of a prescription: its status, who has it, and its claim.
create table eps_issue (
  short_id text not null references eps_prescription (short_id),
  issue_number integer not null check (issue_number >= 1),
  status text not null check (status in ('0000', '0001', '0002', '0003', '0004', '0005', '0006', '0007', '0008', '0009', '9000', '9001', '9005')),
  -- copied from the prescription so that nominated release is one index range
  nominated_ods text,
  -- the pharmacy that released it and has it now
  dispensing_ods text,
  claim_id text,
  claimed_at timestamptz,
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  primary key (short_id, issue_number)
);
-- Nominated release: the oldest prescriptions to be dispensed at this pharmacy.
create index eps_issue_release on eps_issue (nominated_ods, updated_at) where status = '0001';
create index eps_issue_status on eps_issue (status, updated_at);
create index eps_issue_dispenser on eps_issue (dispensing_ods, updated_at) where dispensing_ods is not null;

-- The line items of an issue, by the prescription-order-item-number the prescriber gave them.
-- Item statuses (medicationdispense-type): 0001 dispensed, 0002 not dispensed, 0003 partly
-- dispensed, 0004 not dispensed owing, 0005 cancelled, 0006 expired, 0007 to be dispensed,
-- 0008 with dispenser.
create table eps_line_item (
  short_id text not null,
  issue_number integer not null,
  item_id text not null,
  position integer not null,
  status text not null check (status in ('0001', '0002', '0003', '0004', '0005', '0006', '0007', '0008')),
  cancel_pending boolean not null default false,
  primary key (short_id, issue_number, item_id),
  foreign key (short_id, issue_number) references eps_issue (short_id, issue_number)
);

-- What happened to each prescription, in order: for the tracker, and so a withdrawal can put an
-- issue back as it was before the dispense notification it withdraws. Appended to, never changed.
create table eps_event (
  id bigint generated always as identity primary key,
  short_id text not null references eps_prescription (short_id),
  issue_number integer not null,
  occurred_at timestamptz not null default now(),
  -- prescribed, released, returned, dispensed, withdrawn, claimed, claim-amended, cancelled, cancel-pending, expired
  event text not null,
  status text not null,
  actor_user_id text,
  actor_ods text,
  -- the identifier of the message that caused it (bundle, Task or Claim identifier)
  message_id text,
  -- the line items' statuses before the event, for a withdrawal
  items_before jsonb,
  -- the dispense notification or claim as received
  message jsonb
);
create index eps_event_prescription on eps_event (short_id, issue_number, id);

-- The certificates prescribers sign with, by their user id (the smartcard is the person's).
create table eps_prescriber_certificate (
  user_id text not null check (user_id ~ '^[0-9]{12}$'),
  -- SHA-256 of the DER certificate, hex
  fingerprint text not null,
  certificate_pem text not null,
  registered_at timestamptz not null default now(),
  revoked_at timestamptz,
  primary key (user_id, fingerprint)
);

-- The service role may not rewrite the event history.
grant select, insert, update on eps_prescription, eps_issue, eps_line_item, eps_prescriber_certificate to openspine_service;
grant select, insert on eps_event to openspine_service;
revoke update, delete, truncate on eps_event from openspine_service;
revoke delete, truncate on eps_prescription, eps_issue, eps_line_item from openspine_service;
grant usage, select on sequence eps_event_id_seq to openspine_service;
