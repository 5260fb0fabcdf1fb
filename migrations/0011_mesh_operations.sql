-- MESH operations (src/mesh/sweep.ts): the sweep finds uploads abandoned part way through, messages
-- still 'uploading' a day after they began, without reading the messages that were delivered. Only
-- uploads in progress are in this index, so it stays small however many messages MESH holds.
create index mesh_message_uploading on mesh_message (created_at) where status = 'uploading';
