-- Tells every OpenSpine process at once when a role profile or an application changes (made,
-- changed or deleted, by the admin API, the CLI or by hand), so that each forgets what it kept of it
-- (src/identity/authenticate.ts): a role profile made inactive is refused from the next request on,
-- in every process. The payload is what changed and its key: 'role-profiles:<user id>',
-- 'application:<application id>'.
create function identity_notify_change() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    perform pg_notify('openspine_identity', tg_argv[0] || ':' || (to_jsonb(old) ->> tg_argv[1]));
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform pg_notify('openspine_identity', tg_argv[0] || ':' || (to_jsonb(new) ->> tg_argv[1]));
  end if;
  return null;
end
$$;

create trigger identity_role_profile_changed after insert or update or delete on identity_role_profile
  for each row execute function identity_notify_change('role-profiles', 'user_id');
create trigger identity_application_changed after insert or update or delete on identity_application
  for each row execute function identity_notify_change('application', 'application_id');
