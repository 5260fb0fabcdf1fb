-- The keys OpenSpine signs its access tokens with. Several may be valid at once, so keys rotate
-- without downtime: a new key signs, the old one still verifies until its tokens have expired.
create table identity_signing_key (
  kid text primary key,
  algorithm text not null,
  private_jwk jsonb not null,
  public_jwk jsonb not null,
  created_at timestamptz not null default now(),
  -- after this, the key no longer signs; it verifies until retired_at + the longest token lifetime
  retired_at timestamptz
);
