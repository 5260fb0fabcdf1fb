// The NHSMESH header on its own: its format, its clock window and its HMAC, against the spec's
// example implementation (../shared/specs/mesh/specification/mesh-api.yaml, "MESH Authorization header").
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { certificateNamesMailbox, meshAuthorization, parseMeshToken, tokenTime, verifyMeshToken } from './auth.ts';
import { MeshError } from './errors.ts';

const KEY = 'TestKey';
const NOW = new Date('2020-06-04T17:18:00Z');

test('the HMAC is the spec\'s: HMAC-SHA256(shared key, "mailbox:nonce:nonce_count:password:timestamp")', () => {
  const header = meshAuthorization('X26HC005', 'secret', { sharedKey: KEY, nonce: '1c820cd4-be3e-43ff-807f-e65362892722', nonceCount: 0, time: NOW });
  const expected = createHmac('sha256', KEY).update('X26HC005:1c820cd4-be3e-43ff-807f-e65362892722:0:secret:202006041718').digest('hex');
  assert.equal(header, `NHSMESH X26HC005:1c820cd4-be3e-43ff-807f-e65362892722:0:202006041718:${expected}`);
  const token = parseMeshToken(header);
  assert.ok(token);
  assert.doesNotThrow(() => verifyMeshToken(token, { sharedKey: KEY, password: 'secret', now: NOW }));
});

test('headers that are not NHSMESH tokens are not read as one', () => {
  const good = meshAuthorization('X26HC005', 'secret', { sharedKey: KEY, time: NOW });
  for (const header of [undefined, '', 'Bearer abc', good.replace('NHSMESH ', 'NHSMESH:'), good.replace('NHSMESH ', ''), `${good}:extra`, good.replace(/:0:/, ':zero:'), good.replace(/:[0-9a-f]{64}$/, ':nothex')]) {
    assert.equal(parseMeshToken(header), undefined, String(header));
  }
});

test('a forged HMAC, a wrong password or another shared key is refused', () => {
  const token = parseMeshToken(meshAuthorization('X26HC005', 'secret', { sharedKey: KEY, time: NOW }));
  assert.ok(token);
  const refused = (options: { sharedKey: string; password: string }, hash = token.hash) =>
    assert.throws(() => verifyMeshToken({ ...token, hash }, { ...options, now: NOW }), (error: unknown) => error instanceof MeshError && error.status === 403 && error.description === 'Invalid Authentication Token');
  refused({ sharedKey: KEY, password: 'wrong' });
  refused({ sharedKey: 'OtherKey', password: 'secret' });
  refused({ sharedKey: KEY, password: 'secret' }, `${token.hash.slice(0, 63)}${token.hash.endsWith('0') ? '1' : '0'}`);
});

test('the timestamp must be within 2 hours of the server time, either way, and a real time', () => {
  const at = (minutesFromNow: number) => parseMeshToken(meshAuthorization('X26HC005', 'secret', { sharedKey: KEY, time: new Date(NOW.getTime() + minutesFromNow * 60_000) }));
  for (const minutes of [-120, -1, 0, 119]) {
    const token = at(minutes);
    assert.ok(token);
    assert.doesNotThrow(() => verifyMeshToken(token, { sharedKey: KEY, password: 'secret', now: NOW }), `${minutes} minutes`);
  }
  for (const minutes of [-121, 121, -60 * 24]) {
    const token = at(minutes);
    assert.ok(token);
    assert.throws(() => verifyMeshToken(token, { sharedKey: KEY, password: 'secret', now: NOW }), /more than 2 hours/, `${minutes} minutes`);
  }
  assert.equal(tokenTime('202002301200'), undefined, '30 February');
  assert.equal(tokenTime('202006042460'), undefined);
  assert.equal(tokenTime('202006041718')?.toISOString(), '2020-06-04T17:18:00.000Z');
});

test('a client certificate names a mailbox as <mailbox id>.<its ODS code>.api.mesh-client.nhs.uk, in any case', () => {
  const mailbox = { mailboxId: 'X26HC005', odsCode: 'X26' };
  for (const commonName of ['X26HC005.X26.api.mesh-client.nhs.uk', 'x26hc005.x26.API.MESH-CLIENT.NHS.UK']) {
    assert.equal(certificateNamesMailbox(commonName, mailbox), true, commonName);
  }
  for (const commonName of [undefined, '', 'X26HC005', 'X26HC006.X26.api.mesh-client.nhs.uk', 'X26HC005.Y99.api.mesh-client.nhs.uk', 'X26HC005.X26.api.mesh-client.nhs.uk.evil', 'a.X26HC005.X26.api.mesh-client.nhs.uk', 'X26HC005.X26.apixmesh-client.nhs.uk']) {
    assert.equal(certificateNamesMailbox(commonName, mailbox), false, String(commonName));
  }
});
