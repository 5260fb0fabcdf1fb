// Adding and changing people and their role profiles: the one place both the admin API and the
// CLI go through, so a person's password is always hashed and a role always has its person.
import type { Database } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import { hashPassword } from './passwords.ts';
import { findPerson, upsertPerson, upsertRoleProfile, type RoleProfile } from './store.ts';

export type PersonInput = { userId: string; name: string; givenName?: string | undefined; familyName?: string | undefined; password?: string | undefined };

export async function savePerson(db: Database, person: PersonInput): Promise<void> {
  if (!/^\d{12}$/.test(person.userId)) throw Errors.invalidValue(`Invalid value - '${person.userId}' is not a 12-digit user id`, 'userId');
  await upsertPerson(db, {
    userId: person.userId,
    name: person.name,
    givenName: person.givenName ?? null,
    familyName: person.familyName ?? null,
    passwordHash: person.password ? await hashPassword(person.password) : null,
  });
}

export async function saveRoleProfile(db: Database, profile: RoleProfile): Promise<void> {
  if (!(await findPerson(db, profile.userId))) throw Errors.invalidValue(`Invalid value - no person with user id '${profile.userId}'`, 'userId');
  await upsertRoleProfile(db, profile);
}
