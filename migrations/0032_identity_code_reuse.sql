-- A code redeemed twice revokes what its first redemption issued (RFC 6749 section 4.1.2: the
-- server "SHOULD revoke (when possible) all tokens previously issued based on that authorization
-- code"): someone else holds the code, and may hold those tokens. The ids (jti) of the tokens
-- issued for a code are kept with it; a revoked token is refused by the providers' userinfo and by
-- the token exchange until it would have expired (src/identity/oidc-provider.ts).
alter table identity_authorization_code add column issued_token_ids text[] not null default '{}';

create table identity_revoked_token (
  jti text primary key,
  expires_at timestamptz not null
);
