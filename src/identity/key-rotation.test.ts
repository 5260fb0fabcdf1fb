// Keys rotate without downtime: after a rotation new tokens carry the new key, and tokens signed
// with the old key stay valid until they expire, for running and newly started processes alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { buildTestApp } from '../../test/support/app.ts';
import { createAuthenticator } from './authenticate.ts';
import { CIS2_ISSUER_PATH } from './cis2.ts';
import { rotateSigningKeys } from './tokens.ts';

test('a token signed before a rotation still opens the APIs; new tokens use the new key', async () => {
  const t = await buildTestApp();
  const before = await t.token();
  const read = (token: string) => t.app.inject({ method: 'GET', url: '/spine-directory/FHIR/R4/Organization', headers: { authorization: `Bearer ${token}` } });
  assert.equal((await read(before)).statusCode, 200);

  const newKid = await rotateSigningKeys(t.db);
  const after = await t.token();
  assert.equal(decodeProtectedHeader(after).kid, newKid);
  assert.notEqual(decodeProtectedHeader(before).kid, newKid);
  assert.equal((await read(after)).statusCode, 200, 'a running process learns the new key');
  assert.equal((await read(before)).statusCode, 200, 'the old key still verifies');

  const freshProcess = createAuthenticator(t.db);
  for (const token of [before, after]) assert.equal((await freshProcess(token, {})).actor.mode, 'system');

  const jwks = (await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/connect/jwk_uri` })).json<{ keys: { kid: string }[] }>();
  assert.deepEqual(new Set(jwks.keys.map((key) => key.kid)), new Set([decodeProtectedHeader(before).kid, newKid]));
});
