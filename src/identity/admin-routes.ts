// The administration API of the directory of who is who (OpenSpine's addition, admin scope only):
// people, their role profiles and applications. JSON in and out; errors as OperationOutcomes.
import type { FastifyInstance } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import type { Database } from '../platform/db/connect.ts';
import { ADMIN_SCOPE, type AccessRule } from '../platform/http/access.ts';
import { ACCESS_MODES, APPLICATION_ID_PATTERN, saveApplication } from './applications.ts';
import { savePerson, saveRoleProfile } from './people.ts';
import { listApplications, listPeople, roleProfilesOf } from './store.ts';

export const IDENTITY_ADMIN_BASE = '/identity/v1';
const ADMIN: AccessRule = { modes: ['system', 'healthcare-worker', 'application-restricted'], scope: ADMIN_SCOPE };
const TWELVE_DIGITS = { type: 'string', pattern: '^[0-9]{12}$' } as const;

const personBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, givenName: { type: 'string', maxLength: 100 }, familyName: { type: 'string', maxLength: 100 }, password: { type: 'string', minLength: 8, maxLength: 200 } },
} as const;

const roleProfileBody = {
  type: 'object',
  additionalProperties: false,
  required: ['userId', 'orgCode', 'roleCode', 'roleName', 'activityCodes'],
  properties: {
    userId: TWELVE_DIGITS,
    orgCode: { type: 'string', pattern: '^[A-Z0-9]{3,9}$' },
    roleCode: { type: 'string', pattern: '^S[0-9]+:G[0-9]+:R[0-9]+$' },
    roleName: { type: 'string', minLength: 1, maxLength: 300 },
    activityCodes: { type: 'array', items: { type: 'string', pattern: '^B[0-9]{4}$' }, maxItems: 200 },
    active: { type: 'boolean' },
  },
} as const;

const applicationBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'accessModes'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    jwks: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', maxItems: 20, items: { type: 'object', required: ['kty', 'kid'] } } } },
    accessModes: { type: 'array', minItems: 1, items: { enum: ACCESS_MODES } },
    redirectUris: { type: 'array', items: { type: 'string', format: 'uri', maxLength: 2000 }, maxItems: 20 },
    rateLimitPerSecond: { type: 'integer', minimum: 1, maximum: 100000 },
  },
} as const;

type PersonBody = { name: string; givenName?: string; familyName?: string; password?: string };
type RoleProfileBody = { userId: string; orgCode: string; roleCode: string; roleName: string; activityCodes: string[]; active?: boolean };
type ApplicationBody = { name: string; jwks?: JSONWebKeySet; accessModes: string[]; redirectUris?: string[]; rateLimitPerSecond?: number };

export function registerIdentityAdmin(app: FastifyInstance, db: Database): void {
  const config = { access: ADMIN };

  app.get(`${IDENTITY_ADMIN_BASE}/people`, { config }, async () => {
    const people = await listPeople(db);
    return Promise.all(people.map(async ({ passwordHash: _hidden, ...person }) => ({ ...person, roleProfiles: await roleProfilesOf(db, person.userId) })));
  });

  app.put<{ Params: { userId: string }; Body: PersonBody }>(`${IDENTITY_ADMIN_BASE}/people/:userId`, { config, schema: { params: { type: 'object', properties: { userId: TWELVE_DIGITS } }, body: personBody } }, async (request) => {
    const { userId } = request.params;
    const { name, givenName, familyName, password } = request.body;
    await savePerson(db, { userId, name, givenName, familyName, password });
    return { userId, name, givenName, familyName };
  });

  app.put<{ Params: { roleProfileId: string }; Body: RoleProfileBody }>(`${IDENTITY_ADMIN_BASE}/role-profiles/:roleProfileId`, { config, schema: { params: { type: 'object', properties: { roleProfileId: TWELVE_DIGITS } }, body: roleProfileBody } }, async (request) => {
    const profile = { ...request.body, roleProfileId: request.params.roleProfileId, active: request.body.active ?? true };
    await saveRoleProfile(db, profile);
    return profile;
  });

  app.get(`${IDENTITY_ADMIN_BASE}/applications`, { config }, async () => listApplications(db));

  app.put<{ Params: { applicationId: string }; Body: ApplicationBody }>(`${IDENTITY_ADMIN_BASE}/applications/:applicationId`, { config, schema: { params: { type: 'object', properties: { applicationId: { type: 'string', pattern: APPLICATION_ID_PATTERN.source } } }, body: applicationBody } }, async (request) => {
    const application = {
      applicationId: request.params.applicationId,
      name: request.body.name,
      jwks: request.body.jwks ?? { keys: [] },
      accessModes: request.body.accessModes,
      redirectUris: request.body.redirectUris ?? [],
      rateLimitPerSecond: request.body.rateLimitPerSecond ?? 5,
    };
    await saveApplication(db, application);
    return application;
  });
}
