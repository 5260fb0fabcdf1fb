// The NHS API platform's token endpoint, `POST /oauth2/token`: application-restricted access by
// signed JWT (client_credentials), and user-restricted access by exchanging an ID token
// (token-exchange): a staff one of our CIS2 for a healthcare worker's token, a patient's one of our
// NHS login, at P9, for a patient's token. ../shared/specs/README.md section 6.
import type { FastifyInstance } from 'fastify';
import { decodeJwt, type JWTPayload } from 'jose';
import type { Cluster } from '../platform/cluster.ts';
import { noteActor, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { authenticateClient } from './client-assertion.ts';
import { formFields, type Form } from './form.ts';
import { invalidRequest, OAuthError, oauthReply, unauthorizedClient } from './oauth-errors.ts';
import { CIS2_ISSUER_PATH, type Cis2IdClaims } from './cis2.ts';
import { NHS_LOGIN_ISSUER_PATH, type NhsLoginIdClaims } from './nhs-login.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.ts';
import { isTokenRevoked, type Application } from './store.ts';
import { createJwtVerifier, issueAccessToken } from './tokens.ts';

export const TOKEN_PATH = '/oauth2/token';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * The platform's answer when the application's products do not allow the access asked for, and so
 * also to an NHS login ID token below P9 for a P9 product (identity-service-api e2e tests,
 * test_product_scopes.py; PDS's "Patient cannot retrieve self with P5 authorisation level").
 */
const NOT_CONFIGURED_FOR_GRANT = 'you have tried to request authorization but your application is not configured to use this authorization grant type';
const INVALID_SUBJECT_TOKEN = 'Invalid subject_token: not a valid, unexpired ID token issued to this application';

type VerifyIdToken = (token: string, expected: { issuer: string; audience: string }) => Promise<JWTPayload>;
/** What both grants need to authenticate their client: the database, the token URL its assertion names, and the limiter of token requests. */
type Clients = { db: Database; tokenUrl: string; limiter: RateLimiter };

export function registerTokenEndpoint(app: FastifyInstance, deps: { db: Database; publicBaseUrl: string; cluster: Cluster }): void {
  const tokenUrl = deps.publicBaseUrl + TOKEN_PATH;
  const verifyJwt = createJwtVerifier(deps.db);
  const clients: Clients = { db: deps.db, tokenUrl, limiter: createRateLimiter({ processes: deps.cluster.size }) };
  // The endpoint authenticates its callers itself, by their client assertion.
  app.post(TOKEN_PATH, { config: { access: { public: true }, write: false, securityDecision: true, interaction: 'token', oauthErrors: true } }, async (request, reply) =>
    oauthReply(reply, async () => {
      const form = formFields(request.body);
      switch (form.grant_type) {
        case undefined:
          throw invalidRequest('grant_type is missing');
        case 'client_credentials':
          return clientCredentials(clients, form);
        case TOKEN_EXCHANGE:
          return tokenExchange(clients, form, { base: deps.publicBaseUrl, verify: verifyJwt });
        default:
          throw new OAuthError(400, 'unsupported_grant_type', 'grant_type is invalid');
      }
    }),
  );
}

/**
 * Token requests have a budget of their own, at the application's rate limit (src/identity/rate-limit.ts),
 * so that an application cannot flood the endpoint (one RS512 check and one jti write a request)
 * and its API calls cannot starve its token renewals. It is counted only once the assertion's
 * signature holds: counting unchecked assertions would let anyone spend another application's budget.
 */
function checkTokenRate(limiter: RateLimiter, application: Application): void {
  if (!limiter.take(`token:${application.applicationId}`, application.rateLimitPerSecond)) {
    throw new OAuthError(429, 'too_many_requests', "Too many token requests for the application's rate limit: reuse a token until it expires", { retryAfterSeconds: 1 });
  }
}

async function clientCredentials({ db, tokenUrl, limiter }: Clients, form: Form) {
  const application = await authenticateClient(db, form, tokenUrl);
  noteActor({ mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] });
  checkTokenRate(limiter, application);
  if (!application.accessModes.includes('application-restricted')) {
    throw unauthorizedClient('The application is not allowed application-restricted access');
  }
  const { accessToken, expiresIn } = await issueAccessToken(db, { actor: { mode: 'application-restricted', applicationId: application.applicationId, activityCodes: [] } });
  return { access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', issued_at: String(Date.now()) };
}

async function tokenExchange({ db, tokenUrl, limiter }: Clients, form: Form, idTokens: { base: string; verify: VerifyIdToken }) {
  const application = await authenticateClient(db, form, tokenUrl);
  const fromNhsLogin = issuerOf(form.subject_token) === idTokens.base + NHS_LOGIN_ISSUER_PATH;
  noteActor({ mode: fromNhsLogin ? 'patient' : 'healthcare-worker', applicationId: application.applicationId, activityCodes: [] });
  checkTokenRate(limiter, application);
  if (fromNhsLogin && !application.accessModes.includes('patient')) throw unauthorizedClient(NOT_CONFIGURED_FOR_GRANT);
  if (!fromNhsLogin && !application.accessModes.includes('healthcare-worker')) {
    throw unauthorizedClient('The application is not allowed user-restricted (healthcare worker) access');
  }
  if (form.subject_token_type !== ID_TOKEN_TYPE) throw invalidRequest(`subject_token_type is missing or invalid - must be '${ID_TOKEN_TYPE}'`);
  if (!form.subject_token) throw invalidRequest('subject_token is missing');
  const issuer = idTokens.base + (fromNhsLogin ? NHS_LOGIN_ISSUER_PATH : CIS2_ISSUER_PATH);
  let idClaims: JWTPayload;
  try {
    idClaims = await idTokens.verify(form.subject_token, { issuer, audience: application.applicationId });
    // An ID token whose code was presented again is revoked (src/identity/oidc-provider.ts, redeemCode).
    if (typeof idClaims.jti !== 'string' || (await isTokenRevoked(db, idClaims.jti))) throw new Error('revoked');
  } catch {
    throw new OAuthError(401, 'invalid_grant', INVALID_SUBJECT_TOKEN);
  }
  const actor = fromNhsLogin ? patientActor(application, idClaims) : healthcareWorkerActor(application, idClaims);
  noteActor(actor);
  const { accessToken, expiresIn } = await issueAccessToken(db, { actor });
  return { access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', issued_token_type: ACCESS_TOKEN_TYPE, issued_at: String(Date.now()) };
}

/** The issuer an ID token claims, read before its signature is checked, to know which provider's it is. */
function issuerOf(token: string | undefined): string | undefined {
  try {
    return token ? decodeJwt(token).iss : undefined;
  } catch {
    return undefined;
  }
}

function healthcareWorkerActor(application: Application, claims: JWTPayload): Actor {
  const { sub, selected_roleid: roleProfileId } = claims as Cis2IdClaims;
  return { mode: 'healthcare-worker', userId: sub ?? '', roleProfileId, applicationId: application.applicationId, activityCodes: [] };
}

/** A patient acts as the NHS number NHS login verified, at P9 only: as `openspine token --patient` does. */
function patientActor(application: Application, claims: JWTPayload): Actor {
  const { identity_proofing_level: level, nhs_number: nhsNumber } = claims as NhsLoginIdClaims;
  noteActor({ mode: 'patient', applicationId: application.applicationId, activityCodes: [], ...(nhsNumber ? { userId: nhsNumber } : {}) });
  if (level !== 'P9') throw unauthorizedClient(NOT_CONFIGURED_FOR_GRANT);
  if (typeof nhsNumber !== 'string' || !isValidNhsNumber(nhsNumber)) throw new OAuthError(401, 'invalid_grant', 'Invalid subject_token: no valid nhs_number claim');
  return { mode: 'patient', userId: nhsNumber, applicationId: application.applicationId, activityCodes: [] };
}
