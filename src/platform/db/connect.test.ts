// A Unix socket named the libpq way (`?host=/folder`) reaches the client as a socket path, and is
// not sent to the server as a setting; TCP URLs pass through untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitSocket } from './connect.ts';

test('a ?host=/folder URL becomes the socket path in that folder, on the URL port', () => {
  assert.deepEqual(splitSocket('postgres://openspine:secret@127.0.0.1:7332/openspine?host=%2Fsrv%2Fopenspine%2Fdata%2Fpostgres'), {
    url: 'postgres://openspine:secret@127.0.0.1:7332/openspine',
    path: '/srv/openspine/data/postgres/.s.PGSQL.7332',
  });
});

test('without a port, the socket is PostgreSQL\'s default 5432', () => {
  assert.equal(splitSocket('postgres://postgres@localhost/postgres?host=/var/run/postgresql').path, '/var/run/postgresql/.s.PGSQL.5432');
});

test('a TCP URL, or a host= that is not a folder, is left alone', () => {
  for (const url of ['postgres://postgres@127.0.0.1:5432/postgres', 'postgres://postgres@127.0.0.1:5432/postgres?host=db.example.org&sslmode=require']) {
    assert.deepEqual(splitSocket(url), { url });
  }
});
