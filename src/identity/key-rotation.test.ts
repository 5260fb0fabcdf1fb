// Keys rotate without downtime: after a rotation new tokens carry the new key, and tokens signed
// with the old key stay valid until they expire, for running and newly started processes alike;
// after that, the old key verifies nothing, in a running process too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT, decodeProtectedHeader, generateKeyPair, importJWK } from 'jose';
import { buildTestApp } from '../../test/support/app.ts';
import { createAuthenticator } from './authenticate.ts';
import { CIS2_ISSUER_PATH } from './cis2.ts';
import { listSigningKeys } from './store.ts';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, LONGEST_TOKEN_LIFETIME_SECONDS, createJwtVerifier, rotateSigningKeys } from './tokens.ts';

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

  const freshProcess = await createAuthenticator(t.db);
  for (const token of [before, after]) assert.equal((await freshProcess(token, {})).actor.mode, 'system');

  const jwks = (await t.app.inject({ method: 'GET', url: `${CIS2_ISSUER_PATH}/connect/jwk_uri` })).json<{ keys: { kid: string }[] }>();
  assert.deepEqual(new Set(jwks.keys.map((key) => key.kid)), new Set([decodeProtectedHeader(before).kid, newKid]));
});

test('a retired key stops verifying once no token it signed can be live, in a process that loaded it before', async (t) => {
  const app = await buildTestApp();
  await app.token(); // the first key is made on first use
  const [retiring] = await listSigningKeys(app.db);
  assert.ok(retiring);
  // A token newly signed with the retired key: what someone who took its private key could make.
  const signedWithRetired = async () =>
    new SignJWT({ mode: 'system' }).setProtectedHeader({ alg: 'RS256', kid: retiring.kid, typ: 'JWT' }).setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE).setSubject('openspine').setIssuedAt().setExpirationTime('5m').sign(await importJWK(retiring.privateJwk, 'RS256'));
  const expected = { issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE };
  const running = createJwtVerifier(app.db);
  await rotateSigningKeys(app.db);
  assert.equal((await running(await signedWithRetired(), expected)).sub, 'openspine', 'retired just now, it still verifies');
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + (LONGEST_TOKEN_LIFETIME_SECONDS + 60) * 1000 });
  await assert.rejects(running(await signedWithRetired(), expected), 'a day after its retirement, not even in the process that had loaded it');
});

test('forged tokens with made-up kids share one reload of the keys (one a second at most), not one each; a rotated key is still learnt', async () => {
  const app = await buildTestApp();
  await app.token();
  let reads = 0;
  // The verifier's database, counting its queries (it has no other).
  const counted = new Proxy(app.db, { apply: (target, self, args): unknown => (reads++, Reflect.apply(target, self, args) as unknown) });
  const verifier = createJwtVerifier(counted);
  const expected = { issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE };
  const { privateKey: forger } = await generateKeyPair('RS256');
  const forged = (kid: string) =>
    new SignJWT({ mode: 'system' }).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE)
      .setSubject('openspine').setIssuedAt().setExpirationTime('5m').sign(forger);
  const tokens = await Promise.all(Array.from({ length: 20 }, (_, index) => forged(`made-up-${index}`)));
  await Promise.all(tokens.map((token) => assert.rejects(verifier(token, expected))));
  assert.ok(reads <= 2, `${reads} reads of the keys for 20 forged tokens at once: the first load, and one reload they share`);
  await rotateSigningKeys(app.db);
  assert.equal((await verifier(await app.token(), expected)).sub, 'openspine', 'a token of the new key verifies');
});

test('a token of a key made while a reload of the keys was reading waits for a read of its own, and verifies', async () => {
  const app = await buildTestApp();
  const before = await app.token();
  // The verifier's database, whose answers can be held back after the query has run.
  let holdAnswers: Promise<void> | undefined;
  let answered: (() => void) | undefined;
  const queryRan = new Promise<void>((resolve) => (answered = resolve));
  const held = new Proxy(app.db, {
    apply: (target, self, args): unknown => {
      const pending = Reflect.apply(target, self, args) as Promise<unknown>;
      const hold = holdAnswers;
      if (!hold) return pending;
      return (async () => {
        const rows = await pending;
        answered?.();
        await hold;
        return rows;
      })();
    },
  });
  const verifier = createJwtVerifier(held);
  const expected = { issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE };
  assert.equal((await verifier(before, expected)).sub, 'openspine');
  let release = (): void => undefined;
  holdAnswers = new Promise<void>((resolve) => (release = resolve));
  const { privateKey: forger } = await generateKeyPair('RS256');
  const forged = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'made-up' }).setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE).setExpirationTime('5m').sign(forger);
  const forgedOutcome = verifier(forged, expected).then(() => 'verified', () => 'refused');
  await queryRan; // the forged kid's reload has read the keys, before the rotation
  await rotateSigningKeys(app.db);
  const fresh = verifier(await app.token(), expected).then(() => 'verified', (error: unknown) => `refused: ${String(error)}`);
  holdAnswers = undefined;
  release();
  assert.equal(await forgedOutcome, 'refused');
  assert.equal(await fresh, 'verified');
});
