// Demo people, role profiles, applications and patients' NHS login accounts, seeded on first start
// and printed in the banner. Role and activity codes are national RBAC codes
// (../shared/specs/README.md section 6); the patients are PDS's demo patients (src/pds/demo-patients.ts).
import { randomUUID } from 'node:crypto';
import type { Database } from '../platform/db/connect.ts';
import { hashPassword } from './passwords.ts';
import {
  findApplication,
  findNhsLoginAccount,
  findPerson,
  insertNhsLoginAccount,
  upsertApplication,
  upsertPerson,
  upsertRoleProfile,
  type Application,
  type NhsLoginAccount,
  type RoleProfile,
} from './store.ts';

export const DEMO_PASSWORD = 'password';

export const DEMO_PEOPLE: { userId: string; name: string; givenName: string; familyName: string; role: Omit<RoleProfile, 'userId' | 'active'>; title: string }[] = [
  {
    userId: '555000000001', name: 'PATEL Asha Dr', givenName: 'Asha', familyName: 'Patel', title: 'GP',
    role: { roleProfileId: '555000000101', orgCode: 'A83008', roleCode: 'S8000:G8000:R8000', roleName: '"Clinical":"Clinical Provision":"Clinical Practitioner Access Role"', activityCodes: ['B0278', 'B0401', 'B0420', 'B0825'] },
  },
  {
    userId: '555000000002', name: 'HUGHES Tom Mr', givenName: 'Tom', familyName: 'Hughes', title: 'nurse',
    role: { roleProfileId: '555000000102', orgCode: 'RBA', roleCode: 'S8000:G8000:R8001', roleName: '"Clinical":"Clinical Provision":"Nurse Access Role"', activityCodes: ['B0278', 'B0401', 'B0825', 'B0058'] },
  },
  {
    userId: '555000000003', name: 'SHAH Priya Ms', givenName: 'Priya', familyName: 'Shah', title: 'pharmacist',
    role: { roleProfileId: '555000000103', orgCode: 'FCG71', roleCode: 'S8000:G8000:R8003', roleName: '"Clinical":"Clinical Provision":"Health Professional Access Role"', activityCodes: ['B0570', 'B0572', 'B0068', 'B0401'] },
  },
  {
    userId: '555000000004', name: 'CLARKE Sam Mx', givenName: 'Sam', familyName: 'Clarke', title: 'admin clerk',
    role: { roleProfileId: '555000000104', orgCode: 'A83008', roleCode: 'S8001:G8005:R8008', roleName: '"Admin & Clerical":"Admin & Clerical":"Admin/Clinical Support Access Role"', activityCodes: ['B0825'] },
  },
];

export const DEMO_APPLICATIONS: Omit<Application, 'jwks'>[] = [
  { applicationId: 'openspine-demo-system', name: 'Demo back-office system (application-restricted)', accessModes: ['application-restricted'], redirectUris: [], rateLimitPerSecond: 50 },
  { applicationId: 'openspine-demo-clinical', name: 'Demo clinical system (healthcare worker)', accessModes: ['healthcare-worker', 'application-restricted'], redirectUris: ['http://localhost:3000/callback'], rateLimitPerSecond: 50 },
  { applicationId: 'openspine-demo-patient', name: 'Demo patient app (NHS login)', accessModes: ['patient'], redirectUris: ['http://localhost:3000/callback'], rateLimitPerSecond: 50 },
];

/** Patients who sign in at the NHS login-shaped provider, with the password DEMO_PASSWORD: only P9 gets API access. */
export const DEMO_NHS_LOGIN_ACCOUNTS: Omit<NhsLoginAccount, 'sub' | 'passwordHash'>[] = [
  { email: 'jane.smith@example.com', identityProofingLevel: 'P9', nhsNumber: '9000000009', givenName: 'Jane', familyName: 'Smith', birthdate: '2010-10-22', phoneNumber: '01632960587' },
  { email: 'john.minimal@example.com', identityProofingLevel: 'P9', nhsNumber: '9000000033', givenName: 'John', familyName: 'Minimal', birthdate: '1990-01-01', phoneNumber: null },
  { email: 'jayne.smyth@example.com', identityProofingLevel: 'P5', nhsNumber: '9000000017', givenName: 'Jayne', familyName: 'Smyth', birthdate: '2010-10-22', phoneNumber: null },
  { email: 'new.user@example.com', identityProofingLevel: 'P0', nhsNumber: null, givenName: null, familyName: null, birthdate: null, phoneNumber: null },
];

/** Seeds the demo identities that are not there yet; running it twice changes nothing. */
export async function seedIdentities(db: Database): Promise<number> {
  let created = 0;
  for (const person of DEMO_PEOPLE) {
    if (await findPerson(db, person.userId)) continue;
    await upsertPerson(db, { userId: person.userId, name: person.name, givenName: person.givenName, familyName: person.familyName, passwordHash: await hashPassword(DEMO_PASSWORD) });
    await upsertRoleProfile(db, { ...person.role, userId: person.userId, active: true });
    created++;
  }
  for (const application of DEMO_APPLICATIONS) {
    if (!(await findApplication(db, application.applicationId))) await upsertApplication(db, { ...application, jwks: { keys: [] } });
  }
  for (const account of DEMO_NHS_LOGIN_ACCOUNTS) {
    if (await findNhsLoginAccount(db, { email: account.email })) continue;
    await insertNhsLoginAccount(db, { ...account, sub: randomUUID(), passwordHash: await hashPassword(DEMO_PASSWORD) });
    created++;
  }
  return created;
}
