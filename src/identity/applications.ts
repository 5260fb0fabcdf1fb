// Registering and changing applications: the one place both the admin API and the CLI go through,
// so that the rules an application must keep hold however it was registered.
import type { JSONWebKeySet } from 'jose';
import type { Database } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import { CIS2_USERINFO_AUDIENCE } from './cis2.ts';
import { NHS_LOGIN_USERINFO_AUDIENCE } from './nhs-login.ts';
import { upsertApplication, type Application } from './store.ts';
import { ACCESS_TOKEN_AUDIENCE } from './tokens.ts';

export const APPLICATION_ID_PATTERN = /^[A-Za-z0-9._-]{8,128}$/;
export const ACCESS_MODES = ['application-restricted', 'healthcare-worker', 'patient'] as const;

/**
 * An application's ID tokens have its id as their audience: one named as OpenSpine's own tokens'
 * audiences could pass its ID tokens for those tokens (a userinfo access token exchanged as an ID
 * token), or the reverse.
 */
const RESERVED_AUDIENCES = [ACCESS_TOKEN_AUDIENCE, CIS2_USERINFO_AUDIENCE, NHS_LOGIN_USERINFO_AUDIENCE];
/** The members of a JWK that only its private half has (RFC 7518 sections 6.2.2, 6.3.2 and 6.4). */
const PRIVATE_KEY_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export async function saveApplication(db: Database, application: Application): Promise<void> {
  const { applicationId } = application;
  if (!APPLICATION_ID_PATTERN.test(applicationId)) throw Errors.invalidValue(`Invalid value - '${applicationId}': an application id has 8 to 128 letters, digits, dots, dashes or underscores`, 'applicationId');
  if (RESERVED_AUDIENCES.includes(applicationId)) throw Errors.invalidValue(`'${applicationId}' is the audience of OpenSpine's own tokens, not an application id`, 'applicationId');
  const unknownMode = application.accessModes.find((mode) => !(ACCESS_MODES as readonly string[]).includes(mode));
  if (unknownMode !== undefined) throw Errors.invalidValue(`Invalid value - '${unknownMode}' is not an access mode: ${ACCESS_MODES.join(', ')}`, 'accessModes');
  if (!Number.isInteger(application.rateLimitPerSecond) || application.rateLimitPerSecond < 1) throw Errors.invalidValue('Invalid value - the rate limit is a whole number of requests a second, at least 1', 'rateLimitPerSecond');
  checkPublicKeys(application.jwks);
  await upsertApplication(db, application);
}

function checkPublicKeys(jwks: JSONWebKeySet): void {
  if (!Array.isArray(jwks.keys)) throw Errors.invalidValue('Invalid value - a JWKS holds its keys in "keys"', 'jwks');
  for (const key of jwks.keys) {
    if (!key.kid) throw Errors.invalidValue('Invalid value - every key of the JWKS needs a kid', 'jwks');
    if (PRIVATE_KEY_MEMBERS.some((member) => member in key)) throw Errors.invalidValue(`Invalid value - the key '${key.kid}' has private parts: register public keys only`, 'jwks');
  }
}
