// The NHS API platform's token endpoint, `POST /oauth2/token`: application-restricted access by
// signed JWT (client_credentials), and user-restricted access by exchanging a staff ID token
// (token-exchange). ../shared/specs/README.md section 6.
import type { FastifyInstance } from 'fastify';
import { noteActor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { authenticateClient } from './client-assertion.ts';
import { invalidRequest, OAuthError, oauthReply, unauthorizedClient } from './oauth-errors.ts';
import { CIS2_ISSUER_PATH, type Cis2IdClaims } from './cis2.ts';
import { createJwtVerifier, issueAccessToken } from './tokens.ts';

export const TOKEN_PATH = '/oauth2/token';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

type Form = Record<string, string | undefined>;

export function registerTokenEndpoint(app: FastifyInstance, deps: { db: Database; publicBaseUrl: string }): void {
  const tokenUrl = deps.publicBaseUrl + TOKEN_PATH;
  const verifyJwt = createJwtVerifier(deps.db);
  // The endpoint authenticates its callers itself, by their client assertion.
  app.post(TOKEN_PATH, { config: { access: { public: true }, write: false, securityDecision: true, interaction: 'token' } }, async (request, reply) =>
    oauthReply(reply, async () => {
      const form = (request.body ?? {}) as Form;
      switch (form.grant_type) {
        case undefined:
          throw invalidRequest('grant_type is missing');
        case 'client_credentials':
          return clientCredentials(deps.db, form, tokenUrl);
        case TOKEN_EXCHANGE:
          return tokenExchange(deps.db, form, tokenUrl, (token, audience) => verifyJwt(token, { issuer: deps.publicBaseUrl + CIS2_ISSUER_PATH, audience }));
        default:
          throw new OAuthError(400, 'unsupported_grant_type', 'grant_type is invalid');
      }
    }),
  );
}

async function clientCredentials(db: Database, form: Form, tokenUrl: string) {
  const application = await authenticateClient(db, form, tokenUrl);
  noteActor({ mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] });
  if (!application.accessModes.includes('application-restricted')) {
    throw unauthorizedClient('The application is not allowed application-restricted access');
  }
  const { accessToken, expiresIn } = await issueAccessToken(db, { actor: { mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] } });
  return { access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', issued_at: String(Date.now()) };
}

async function tokenExchange(db: Database, form: Form, tokenUrl: string, verifyIdToken: (token: string, audience: string) => Promise<unknown>) {
  const application = await authenticateClient(db, form, tokenUrl);
  noteActor({ mode: 'healthcare-worker', applicationId: application.applicationId, activityCodes: [] });
  if (!application.accessModes.includes('healthcare-worker')) {
    throw unauthorizedClient('The application is not allowed user-restricted (healthcare worker) access');
  }
  if (form.subject_token_type !== ID_TOKEN_TYPE) throw invalidRequest(`subject_token_type is missing or invalid - must be '${ID_TOKEN_TYPE}'`);
  if (!form.subject_token) throw invalidRequest('subject_token is missing');
  let idClaims: Cis2IdClaims;
  try {
    idClaims = (await verifyIdToken(form.subject_token, application.applicationId)) as Cis2IdClaims;
  } catch {
    throw new OAuthError(401, 'invalid_grant', 'Invalid subject_token: not a valid, unexpired ID token issued to this application');
  }
  noteActor({ mode: 'healthcare-worker', userId: idClaims.sub ?? '', roleProfileId: idClaims.selected_roleid, applicationId: application.applicationId, activityCodes: [] });
  const { accessToken, expiresIn } = await issueAccessToken(db, {
    actor: { mode: 'healthcare-worker', userId: idClaims.sub ?? '', roleProfileId: idClaims.selected_roleid, applicationId: application.applicationId, activityCodes: [] },
  });
  return { access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', issued_token_type: ACCESS_TOKEN_TYPE, issued_at: String(Date.now()) };
}
