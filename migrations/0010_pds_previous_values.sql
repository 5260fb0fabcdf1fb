-- Values a patient's record held before (PDS "history"): an email address or phone number
-- replaced by an update is kept here, and a search with _history=true, or any fuzzy search,
-- matches it too (../shared/specs/pds/specification/components/paths/patient-search.yaml,
-- "Phone number and email address"). Values are stored as the search keys are (email in lower
-- case, phone without spaces); the primary key serves the lookup by value.
create table pds_patient_previous (
  key text not null check (key in ('email', 'phone')),
  value text not null,
  nhs_number text not null references pds_patient (nhs_number),
  primary key (key, value, nhs_number)
);

grant select, insert on pds_patient_previous to openspine_service;
