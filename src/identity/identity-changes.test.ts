// A change of a role profile or an application reaches every process at once (migration 0029's
// notices), not when what each process keeps of it runs out (10 s): a role profile made inactive,
// an application removed or an access mode taken away from it is refused from the next request
// on, whoever changed it and how.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { registerTestApplication } from '../../test/support/applications.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { Authenticator } from '../platform/http/access.ts';
import { SpineError } from '../platform/errors.ts';
import { createAuthenticator } from './authenticate.ts';
import { savePerson, saveRoleProfile } from './people.ts';

const t = await buildTestApp();
const twelveDigits = () => String(randomInt(100_000_000_000, 999_999_999_999));
/** Well inside the 10 s a process keeps what it read: a refusal this soon came from a notice. */
const AT_ONCE_MS = 2_000;

/** The HTTP status a process answers the token with: 200 when it lets the caller through. */
async function statusOf(authenticate: Authenticator, token: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    await authenticate(token, headers);
    return 200;
  } catch (error) {
    if (error instanceof SpineError) return error.status;
    throw error;
  }
}

test('a role profile made inactive is refused at once by every process that had let it through', async () => {
  const userId = twelveDigits();
  const roleProfileId = twelveDigits();
  const profile = { roleProfileId, userId, orgCode: 'A83008', roleCode: 'S8000:G8000:R8000', roleName: 'GP', activityCodes: ['B0570'], active: true };
  await savePerson(t.db, { userId, name: `TEST ${userId}` });
  await saveRoleProfile(t.db, profile);
  const token = await t.token({ actor: { mode: 'healthcare-worker', userId, roleProfileId, activityCodes: [] } });
  const processes = [await createAuthenticator(t.db), await createAuthenticator(t.db)];
  const session = { 'nhsd-session-urid': roleProfileId };
  for (const process of processes) assert.equal(await statusOf(process, token, session), 200);

  await saveRoleProfile(t.db, { ...profile, active: false });
  for (const process of processes) {
    await waitFor(async () => (await statusOf(process, token, session)) === 403, { timeoutMs: AT_ONCE_MS, what: () => 'the inactive role profile to be refused' });
  }
});

test('an application deleted by hand in the database is refused at once by every process', async () => {
  const application = await registerTestApplication(t, { accessModes: ['application-restricted'] });
  const token = await t.token({ actor: { mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] } });
  const processes = [await createAuthenticator(t.db), await createAuthenticator(t.db)];
  for (const process of processes) assert.equal(await statusOf(process, token), 200);

  await t.db`delete from identity_application where application_id = ${application.applicationId}`;
  for (const process of processes) {
    await waitFor(async () => (await statusOf(process, token)) === 401, { timeoutMs: AT_ONCE_MS, what: () => 'the deleted application to be refused' });
  }
});

test('an access mode taken away from an application ends the tokens it was given in that mode', async () => {
  const application = await registerTestApplication(t, { accessModes: ['application-restricted', 'patient'] });
  const token = await t.token({ actor: { mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] } });
  const process = await createAuthenticator(t.db);
  assert.equal(await statusOf(process, token), 200);
  await t.db`update identity_application set access_modes = '{patient}' where application_id = ${application.applicationId}`;
  await waitFor(async () => (await statusOf(process, token)) === 401, { timeoutMs: AT_ONCE_MS, what: () => 'the token of a mode taken away to be refused' });
});
