// Prescribers' signing certificates: registered per person (the smartcard is the person's), by an
// administrator, and read when a signed prescription arrives.
import { X509Certificate } from 'node:crypto';
import type { Database } from '../platform/db/connect.ts';
import { Errors } from '../platform/errors.ts';
import { upsertCertificate } from './store.ts';

/** Registers a PEM certificate for the person with this user id; returns its SHA-256 fingerprint. */
export async function registerPrescriberCertificate(db: Database, userId: string, pem: string): Promise<string> {
  if (!/^\d{12}$/.test(userId)) throw Errors.invalidValue(`Invalid value - '${userId}' is not a 12-digit user id`, 'userId');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw Errors.invalidValue('Invalid value - the certificate is not a PEM X.509 certificate', 'certificate');
  }
  if (certificate.publicKey.asymmetricKeyType !== 'rsa') throw Errors.invalidValue('Invalid value - the certificate must have an RSA key (signatures are RS256)', 'certificate');
  const fingerprint = fingerprintOf(certificate);
  await upsertCertificate(db, userId, fingerprint, certificate.toString());
  return fingerprint;
}

/** How eps_prescriber_certificate names a certificate: its SHA-256 fingerprint, hex in lower case. */
export function fingerprintOf(certificate: X509Certificate): string {
  return certificate.fingerprint256.replaceAll(':', '').toLowerCase();
}
