-- EPS keeps whole messages: signed prescription bundles (the spec's examples are about 24 KB),
-- dispense notifications and claims, and the answers kept for retries (a release's holds the
-- bundles it released). PostgreSQL compresses such values with pglz by default, which cost about
-- 300 µs of CPU per bundle stored, most of an order's cost in the database; lz4 costs a tenth of
-- that (2,000 rows of the spec's example bundle: pglz 610 ms, lz4 57 ms, uncompressed 103 ms). A
-- PostgreSQL built without lz4 stores them uncompressed instead.
do $$
begin
  alter table eps_prescription alter column bundle set compression lz4;
  alter table eps_event alter column message set compression lz4;
  alter table eps_request alter column response set compression lz4;
exception when feature_not_supported then
  alter table eps_prescription alter column bundle set storage external;
  alter table eps_event alter column message set storage external;
  alter table eps_request alter column response set storage external;
end
$$;
