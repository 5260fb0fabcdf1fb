// Authenticates an application by its signed JWT client assertion (private_key_jwt): RS512, `kid`
// in the application's JWKS, iss = sub = API key, aud = the token URL, a single-use jti, and exp
// no more than 5 minutes ahead. Error statuses and texts are the NHS API platform's
// (../shared/specs/README.md section 6, and the identity-service-api e2e tests it takes them from).
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Database } from '../platform/db/connect.ts';
import { invalidClient, invalidRequest, OAuthError } from './oauth-errors.ts';
import { findApplication, useJti, type Application } from './store.ts';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const MAX_ASSERTION_LENGTH = 8192;
/** Far longer than a GUID: a jti is kept, keyed by itself, until its assertion expires (identity_used_jti). */
const MAX_JTI_LENGTH = 512;

export async function authenticateClient(db: Database, form: Record<string, string | undefined>, tokenUrl: string): Promise<Application> {
  if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE) {
    throw invalidRequest(`Missing or invalid client_assertion_type - must be '${CLIENT_ASSERTION_TYPE}'`);
  }
  const assertion = form.client_assertion;
  if (!assertion) throw invalidRequest('Missing client_assertion');
  if (assertion.length > MAX_ASSERTION_LENGTH) throw invalidRequest('Malformed JWT in client_assertion');
  const { header, claims } = decode(assertion);
  if (header.alg !== 'RS512') throw invalidRequest("Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'");
  if (!header.kid) throw invalidRequest("Missing 'kid' header in client_assertion JWT");
  // The platform takes 'JWT' in any case (its e2e tests sign with "jwt"), and refuses a missing typ.
  if (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT') throw invalidRequest("Invalid 'typ' header in client_assertion JWT - must be 'JWT'");
  // Claims of another type than the platform's (an iss that is a number, a jti that is an object) are refused before any lookup.
  if (typeof claims.iss !== 'string' || !claims.iss || claims.iss !== claims.sub) throw invalidRequest("Missing or non-matching 'iss'/'sub' claims in client_assertion JWT");
  if (claims.jti === undefined) throw invalidRequest("Missing 'jti' claim in client_assertion JWT");
  if (typeof claims.jti !== 'string' || !claims.jti || claims.jti.length > MAX_JTI_LENGTH) throw invalidRequest("Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID");
  if (claims.aud !== tokenUrl && !(Array.isArray(claims.aud) && claims.aud.length === 1 && claims.aud[0] === tokenUrl)) {
    throw new OAuthError(401, 'invalid_request', "Missing or invalid 'aud' claim in client_assertion JWT");
  }
  const expiry = checkExpiry(claims);

  const application = await findApplication(db, claims.iss);
  if (!application) throw new OAuthError(401, 'invalid_request', "Invalid 'iss'/'sub' claims in client_assertion JWT");
  if (!application.jwks.keys.some((key) => key.kid === header.kid)) {
    throw new OAuthError(401, 'invalid_request', "Invalid 'kid' header in client_assertion JWT - no matching public key");
  }
  try {
    await jwtVerify(assertion, createLocalJWKSet(application.jwks), { algorithms: ['RS512'] });
  } catch (error) {
    // jose checks the claims after the signature: a claim it refuses (nbf in the future) was signed as sent.
    if (error instanceof errors.JWTExpired) throw invalidRequest("Invalid 'exp' claim in client_assertion JWT - JWT has expired");
    if (error instanceof errors.JWTClaimValidationFailed) throw invalidRequest(`Invalid '${error.claim}' claim in client_assertion JWT - ${error.message}`);
    throw invalidClient('Invalid client_assertion JWT - the signature does not verify with the public key');
  }
  if (!(await useJti(db, application.applicationId, claims.jti, expiry))) throw invalidRequest("Non-unique 'jti' claim in client_assertion JWT");
  return application;
}

function decode(assertion: string): { header: ReturnType<typeof decodeProtectedHeader>; claims: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(assertion), claims: decodeJwt(assertion) };
  } catch {
    throw invalidRequest('Malformed JWT in client_assertion');
  }
}

function checkExpiry(claims: JWTPayload): Date {
  const exp = claims.exp as unknown;
  if (exp === undefined) throw invalidRequest("Missing 'exp' claim in client_assertion JWT");
  if (typeof exp !== 'number' || !Number.isInteger(exp)) throw invalidRequest("Invalid 'exp' claim in client_assertion JWT - must be an integer");
  const now = Math.floor(Date.now() / 1000);
  if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS) throw invalidRequest("Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future");
  if (exp <= now) throw invalidRequest("Invalid 'exp' claim in client_assertion JWT - JWT has expired");
  return new Date(exp * 1000);
}
