-- The role OpenSpine's services run as: not the owner of the tables, so it cannot disable the
-- audit trail's triggers, and without UPDATE, DELETE or TRUNCATE on the trail at all. Migrations
-- run as the owner. The embedded PostgreSQL lets it log in with a generated password; on an
-- external cluster, grant it to the login role the services use: `grant openspine_service to <login>`.
do $$
begin
  if not exists (select from pg_roles where rolname = 'openspine_service') then
    create role openspine_service nologin;
  end if;
end
$$;

grant usage on schema public to openspine_service;
grant select, insert, update, delete on all tables in schema public to openspine_service;
alter default privileges in schema public grant select, insert, update, delete on tables to openspine_service;
alter default privileges in schema public grant usage, select on sequences to openspine_service;

revoke update, delete, truncate on audit_record from openspine_service;
revoke delete, truncate on audit_chain_head from openspine_service;
