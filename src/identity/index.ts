// The Care Identity Service as other modules see it: the authenticator every request passes, the
// token endpoint, the CIS2-shaped staff sign-in, the NHS login-shaped patient sign-in, and the
// administration of who is who.
import { organisationName } from '../directory/index.ts';
import type { ServiceModule } from '../platform/http/app.ts';
import { registerIdentityAdmin } from './admin-routes.ts';
import { registerCis2Provider } from './cis2.ts';
import { registerNhsLoginProvider } from './nhs-login.ts';
import { seedIdentities } from './seed.ts';
import { registerTokenEndpoint } from './token-endpoint.ts';

export { addApplicationKey, signClientAssertion } from './application-keys.ts';
export { createAuthenticator } from './authenticate.ts';
export { DEMO_APPLICATIONS, DEMO_NHS_LOGIN_ACCOUNTS, DEMO_PASSWORD, DEMO_PEOPLE } from './seed.ts';
export { issueAccessToken, rotateSigningKeys } from './tokens.ts';
export { findApplication, listApplications, listNhsLoginAccounts, listPeople, roleProfilesOf } from './store.ts';
export { CIS2_ISSUER_PATH } from './cis2.ts';
export { NHS_LOGIN_ISSUER_PATH } from './nhs-login.ts';
export { TOKEN_PATH } from './token-endpoint.ts';
export { savePerson, saveRoleProfile } from './people.ts';
export { saveApplication } from './applications.ts';

export const identityService: ServiceModule = {
  name: 'identity',
  register(app, { db, config, cluster }) {
    registerTokenEndpoint(app, { db, publicBaseUrl: config.publicBaseUrl, cluster });
    registerCis2Provider(app, { db, publicBaseUrl: config.publicBaseUrl, organisationName: (ods) => organisationName(db, ods) });
    registerNhsLoginProvider(app, { db, publicBaseUrl: config.publicBaseUrl });
    registerIdentityAdmin(app, db);
  },
  async seed({ db, log }) {
    const created = await seedIdentities(db);
    if (created > 0) log.info({ created }, 'demo people and NHS login accounts seeded');
  },
};
