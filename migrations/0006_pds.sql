-- The Personal Demographics Service: one row per NHS number, with the search keys of the PDS
-- trace as columns so that every search shape is an index lookup (README: "PDS at scale").

create table pds_patient (
  nhs_number text primary key check (nhs_number ~ '^[0-9]{10}$'),
  version_id integer not null,
  last_updated timestamptz not null,
  -- the FHIR Patient as PDS serves it, without meta (set when served)
  record json not null,
  -- security label R: address, telecom, contact and registered GP are never served
  restricted boolean not null default false,
  -- an invalidated record is never served; a superseded (merged) one serves its survivor
  invalidated boolean not null default false,
  superseded_by text,
  -- search keys of the usual name and home address: upper case, accents removed, no spaces in postcodes
  family text collate "C" not null default '',
  given text collate "C" not null default '',
  family_phonetic text not null default '',
  given_phonetic text not null default '',
  gender text,
  birth_date date,
  death_date date,
  postcode text collate "C",
  gp_ods text,
  email text,
  phone text
);

-- The trace's index terms: birth date with family name (exact or prefix), phonetic codes with
-- birth date (fuzzy), and the single-key searches.
create index pds_patient_birth_family on pds_patient (birth_date, family);
create index pds_patient_family_birth on pds_patient (family, birth_date);
create index pds_patient_phonetic on pds_patient (family_phonetic, birth_date);
create index pds_patient_given_phonetic on pds_patient (given_phonetic, birth_date);
create index pds_patient_postcode on pds_patient (postcode);
create index pds_patient_gp on pds_patient (gp_ods) where gp_ods is not null;
create index pds_patient_email on pds_patient (email) where email is not null;
create index pds_patient_phone on pds_patient (phone) where phone is not null;

grant select, insert, update on pds_patient to openspine_service;
