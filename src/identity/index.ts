// The identity service as other modules see it.
export { ACCESS_TOKEN_LIFETIME_SECONDS, createAccessTokenVerifier, issueAccessToken, type TokenRequest } from './tokens.ts';

/** The scope of OpenSpine's own administration endpoints (directory upkeep, users, settings). */
export const ADMIN_SCOPE = 'openspine:admin';
