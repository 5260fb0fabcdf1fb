-- PDS history for names and addresses: a family name, first given name or postcode that an update
-- replaced is kept beside the previous emails and phones of 0010, so that a search with
-- _history=true, and any fuzzy search, matches it too (patient-search.yaml, "History": "PDS holds
-- historic information, including previous names and addresses"). Values are stored as the search
-- keys are (names upper case without accents, postcodes without spaces). For fuzzy searches the
-- Soundex code of a previous name is kept with the birth date, as 'S530 1980-05-06', so that the
-- lookup by (key, value) through the primary key stays as narrow as the current one by
-- (family_phonetic, birth_date).
alter table pds_patient_previous drop constraint pds_patient_previous_key_check;
alter table pds_patient_previous add constraint pds_patient_previous_key_check
  check (key in ('email', 'phone', 'family', 'given', 'family_phonetic', 'given_phonetic', 'postcode'));

-- Compared byte by byte, as pds_patient's name and postcode keys are, so that a wildcard's range
-- (value >= 'SM' and value < 'SM' || U+10FFFF) means "starts with" under any database locale.
alter table pds_patient_previous alter column value type text collate "C";

-- A candidate's previous values, for scoring a history match.
create index pds_patient_previous_patient on pds_patient_previous (nhs_number);
