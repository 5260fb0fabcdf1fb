-- X-Request-ID de-duplication (fhir-prescribing.yaml and fhir-dispensing.yaml, header X-Request-ID:
-- "used to de-duplicate repeated requests"; src/eps/request-log.ts). An EPS write inserts its row in
-- the transaction of its change, so that a retry cannot make the change again; the answer is added
-- once given, for a retry to get it again. Rows are forgotten after a day by the EPS sweep.
create table eps_request (
  request_id uuid primary key,
  -- who sent it, what it was and its body: a retry must be the same request
  user_id text not null,
  interaction text not null,
  body_sha256 text not null,
  created_at timestamptz not null default now(),
  -- the answer, once given (null while the first request is still being answered)
  answered_at timestamptz,
  status integer,
  response json,
  patients text[],
  short_ids text[]
);
create index eps_request_created on eps_request (created_at);
