-- Every MESH call records its token's nonce (about four rows a message), and the sweep deletes
-- them once their two hours are up, by expiry time. Rows go in in the order they expire, so a
-- BRIN index (a few pages, the range of expiry times of each block of the table) finds the expired
-- ones as well as a B-tree would, without a B-tree insert on every call.
drop index mesh_auth_nonce_expiry;
create index mesh_auth_nonce_expiry on mesh_auth_nonce using brin (expires_at);
