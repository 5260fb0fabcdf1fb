-- Care Identity Service: people, their role profiles in organisations (national RBAC), and the
-- applications that call the APIs. ../shared/specs/README.md section 6.

-- Staff, by the 12-digit user id CIS2 gives them (nhsid_useruid).
create table identity_person (
  user_id text primary key check (user_id ~ '^[0-9]{12}$'),
  name text not null,
  given_name text,
  family_name text,
  -- scrypt hash for the sign-in page; null: the person cannot sign in with a password
  password_hash text,
  created_at timestamptz not null default now()
);

-- A person's role in an organisation: what NHSD-Session-URID names (person_roleid).
create table identity_role_profile (
  role_profile_id text primary key check (role_profile_id ~ '^[0-9]{12}$'),
  user_id text not null references identity_person (user_id),
  org_code text not null check (org_code ~ '^[A-Z0-9]{3,9}$'),
  -- national RBAC job role, S..:G..:R.. with the job role last
  role_code text not null check (role_code ~ '^S[0-9]+:G[0-9]+:R[0-9]+$'),
  role_name text not null,
  activity_codes text[] not null default '{}',
  active boolean not null default true,
  created_at timestamptz not null default now()
);
create index identity_role_profile_user on identity_role_profile (user_id);

-- Applications calling the APIs: the API key is the id; their public keys verify client assertions.
create table identity_application (
  application_id text primary key check (length(application_id) between 8 and 128),
  name text not null,
  jwks jsonb not null default '{"keys": []}',
  access_modes text[] not null,
  redirect_uris text[] not null default '{}',
  rate_limit_per_second integer not null default 5 check (rate_limit_per_second > 0),
  created_at timestamptz not null default now()
);

-- Each client assertion is single-use: its jti is kept until the assertion would have expired.
create table identity_used_jti (
  application_id text not null,
  jti text not null,
  expires_at timestamptz not null,
  primary key (application_id, jti)
);
create index identity_used_jti_expiry on identity_used_jti (expires_at);

-- Authorization codes of the staff sign-in (OIDC authorization code flow with PKCE), single-use.
create table identity_authorization_code (
  code text primary key,
  client_id text not null,
  user_id text not null references identity_person (user_id),
  selected_role_id text not null references identity_role_profile (role_profile_id),
  redirect_uri text not null,
  code_challenge text not null,
  scope text not null,
  nonce text,
  expires_at timestamptz not null,
  used_at timestamptz
);
