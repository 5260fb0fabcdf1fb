-- The platform: run-time settings and the versioned FHIR resource store with its search indexes.
-- Works on PostgreSQL 15 (distributions) and 18 (the embedded default).

create extension if not exists pg_trgm;

-- Run-time switches shared by every OpenSpine process on this database (read-only mode, ...).
create table platform_setting (
  name text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);

-- The current version of each resource. A deleted resource keeps its row (deleted = true) so that
-- a read answers 410 Gone and a later create cannot reuse its id by accident.
create table fhir_resource (
  resource_type text not null,
  id text not null,
  version_id bigint not null,
  last_updated timestamptz not null,
  deleted boolean not null default false,
  content json not null,
  primary key (resource_type, id)
);
create index fhir_resource_last_updated on fhir_resource (resource_type, last_updated);

-- Every version ever written, for vread and history.
create table fhir_resource_version (
  resource_type text not null,
  id text not null,
  version_id bigint not null,
  last_updated timestamptz not null,
  deleted boolean not null default false,
  content json not null,
  primary key (resource_type, id, version_id)
);
create index fhir_resource_version_last_updated on fhir_resource_version (resource_type, last_updated);

-- Search index rows, written in the same transaction as the resource they index.
create table fhir_token (
  resource_type text not null,
  id text not null,
  param text not null,
  system text,
  code text not null
);
create index fhir_token_lookup on fhir_token (resource_type, param, code, system);
create index fhir_token_owner on fhir_token (resource_type, id);

create table fhir_string (
  resource_type text not null,
  id text not null,
  param text not null,
  -- lower case, accents removed: what string search compares by default. Collation "C" lets the
  -- btree index serve prefix searches as a range, with parameters and generic plans.
  normalized text collate "C" not null,
  -- as written: what the :exact modifier compares
  exact text not null
);
create index fhir_string_prefix on fhir_string (resource_type, param, normalized);
create index fhir_string_exact on fhir_string (resource_type, param, exact);
create index fhir_string_contains on fhir_string using gin (normalized gin_trgm_ops);
create index fhir_string_owner on fhir_string (resource_type, id);

-- A date, dateTime or Period is kept as the instant range it covers.
create table fhir_date (
  resource_type text not null,
  id text not null,
  param text not null,
  low timestamptz not null,
  high timestamptz not null
);
create index fhir_date_low on fhir_date (resource_type, param, low);
create index fhir_date_high on fhir_date (resource_type, param, high);
create index fhir_date_owner on fhir_date (resource_type, id);

create table fhir_reference (
  resource_type text not null,
  id text not null,
  param text not null,
  -- "Type/id" for a literal reference, or the absolute URL as written
  target text not null
);
create index fhir_reference_lookup on fhir_reference (resource_type, param, target);
create index fhir_reference_owner on fhir_reference (resource_type, id);
