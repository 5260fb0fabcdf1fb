-- A patient's related people (next of kin, guardians) and European Health Insurance Card
-- coverage, as the PDS FHIR API serves them.

create table pds_related_person (
  nhs_number text not null references pds_patient (nhs_number),
  related_id text not null,
  record json not null,
  primary key (nhs_number, related_id)
);

create table pds_coverage (
  nhs_number text primary key references pds_patient (nhs_number),
  record json not null
);

grant select, insert, update on pds_related_person, pds_coverage to openspine_service;
