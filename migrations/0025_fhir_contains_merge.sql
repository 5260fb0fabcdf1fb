-- The contains index (fhir_string_contains, GIN trigram, 0001) takes new entries into a pending list,
-- and whichever insert finds that list full merges it into the index first: that insert, and the
-- response waiting on it, stall for tens of milliseconds, every second or so under a stream of
-- creates. OpenSpine merges the list itself a few times a second (src/platform/fhir/contains-merge.ts),
-- and an insert that finds a merge under way does not wait for it. Merging takes the index's owner:
-- this function lends the service role that one right.
create function fhir_merge_contains_pending() returns bigint
  language sql security definer set search_path = pg_catalog, public
  as $$ select gin_clean_pending_list('public.fhir_string_contains'::regclass) $$;

revoke all on function fhir_merge_contains_pending() from public;
grant execute on function fhir_merge_contains_pending() to openspine_service;
