-- Sign-in attempt rows whose window has ended are deleted a few at a time by later attempts
-- (src/identity/sign-in-attempts.ts), oldest first: without this index each would scan the table.
create index identity_sign_in_attempt_window on identity_sign_in_attempt (window_started_at);
