-- The OpenSpine processes running on this database, each keeping its row fresh with a heartbeat
-- (src/platform/cluster.ts): how many there are, so that limits meant for the whole service (an
-- application's rate limit) are shared among them, and so operators see them in /_status.
create table platform_process (
  id uuid primary key,
  host text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  seen_at timestamptz not null default now()
);
create index platform_process_seen_at on platform_process (seen_at);
