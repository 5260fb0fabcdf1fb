// The access matrix: every registered route against callers of each kind (no token, each access
// mode, each seeded role, each scope). Each route must allow exactly the callers its declared rule
// allows; a few key routes are also checked against expectations written out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Actor } from '../src/platform/context.ts';
import { DEMO_PEOPLE } from '../src/identity/index.ts';
import { ADMIN_SCOPE, AUDIT_SCOPE, type AccessRule } from '../src/platform/http/access.ts';
import { registeredRoutes } from '../src/platform/http/app.ts';
import { buildTestApp } from './support/app.ts';
import { registerTestApplication } from './support/applications.ts';

const t = await buildTestApp();
const application = await registerTestApplication(t, { accessModes: ['application-restricted', 'healthcare-worker'], rateLimitPerSecond: 100_000 });

type Caller = { name: string; actor?: Actor; scopes?: string[] };
const CALLERS: Caller[] = [
  { name: 'no token' },
  { name: 'system', actor: { mode: 'system', activityCodes: [] } },
  { name: 'system admin', actor: { mode: 'system', activityCodes: [] }, scopes: [ADMIN_SCOPE] },
  { name: 'system auditor', actor: { mode: 'system', activityCodes: [] }, scopes: [AUDIT_SCOPE] },
  { name: 'application', actor: { mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] } },
  { name: 'patient', actor: { mode: 'patient', userId: '9000000009', activityCodes: [] } },
  ...DEMO_PEOPLE.map((person) => ({
    name: person.title,
    actor: { mode: 'healthcare-worker' as const, userId: person.userId, roleProfileId: person.role.roleProfileId, applicationId: application.applicationId, activityCodes: person.role.activityCodes },
  })),
];

function allowedByRule(rule: AccessRule, caller: Caller): boolean {
  // None of these callers holds a route's own credential (a CIS2 token for userinfo).
  if ('public' in rule) return rule.ownCredential === undefined;
  if (!caller.actor || !rule.modes.includes(caller.actor.mode)) return false;
  if (rule.activities && !rule.activities.some((code) => caller.actor?.activityCodes.includes(code))) return false;
  return !rule.scope || (caller.scopes ?? []).includes(rule.scope);
}

const SAMPLE_PARAMS: Record<string, string> = { type: 'Organization', id: 'a-missing-id', version: '1', userId: '555000000001', roleProfileId: '555000000101', applicationId: 'test-app-missing', sequence: '1' };
const fill = (url: string) => url.replace(/:(\w+)/g, (_match, name: string) => SAMPLE_PARAMS[name] ?? 'x');

test('every route allows exactly the callers its declared rule allows', async () => {
  const tokens = new Map<string, string | undefined>();
  for (const caller of CALLERS) tokens.set(caller.name, caller.actor && (await t.token({ actor: caller.actor, scopes: caller.scopes ?? [] })));
  const routes = registeredRoutes(t.app).filter((route) => route.method !== 'HEAD');
  assert.ok(routes.length >= 20, `found ${routes.length} routes`);
  const wrong: string[] = [];
  for (const route of routes) {
    for (const caller of CALLERS) {
      const token = tokens.get(caller.name);
      const response = await t.app.inject({
        method: route.method as 'GET',
        url: fill(route.url),
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
        ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { payload: '{}' } : {}),
      });
      const allowed = ![401, 403].includes(response.statusCode);
      const expected = allowedByRule(route.access, caller);
      if (allowed !== expected) wrong.push(`${route.method} ${route.url} as ${caller.name}: ${response.statusCode}, expected ${expected ? 'allowed' : 'refused'}`);
      if (!expected && !('public' in route.access)) {
        const status = caller.actor ? 403 : 401;
        if (response.statusCode !== status) wrong.push(`${route.method} ${route.url} as ${caller.name}: ${response.statusCode}, expected ${status}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('the key routes have the rules their users expect', () => {
  const rule = (method: string, url: string) => registeredRoutes(t.app).find((route) => route.method === method && route.url === url)?.access;
  const allowed = (access: AccessRule | undefined) => CALLERS.filter((caller) => access && allowedByRule(access, caller)).map((caller) => caller.name);
  const staff = DEMO_PEOPLE.map((person) => person.title);
  assert.deepEqual(allowed(rule('GET', '/spine-directory/FHIR/R4/:type/:id')), ['system', 'system admin', 'system auditor', 'application', ...staff]);
  assert.deepEqual(allowed(rule('POST', '/spine-directory/FHIR/R4/:type')), ['system admin']);
  assert.deepEqual(allowed(rule('PUT', '/identity/v1/applications/:applicationId')), ['system admin']);
  assert.equal(allowed(rule('POST', '/oauth2/token')).length, CALLERS.length, 'the token endpoint is public');
  assert.equal(allowed(rule('GET', '/_status')).length, CALLERS.length);
});
