// The SQL of the identity service.
import type { JWK } from 'jose';
import type { Queryable } from '../platform/db/connect.ts';

export type SigningKeyRow = { kid: string; algorithm: string; privateJwk: JWK; publicJwk: JWK; retiredAt: Date | null };

export async function listSigningKeys(db: Queryable): Promise<SigningKeyRow[]> {
  const rows = await db<{ kid: string; algorithm: string; private_jwk: JWK; public_jwk: JWK; retired_at: Date | null }[]>`
    select kid, algorithm, private_jwk, public_jwk, retired_at from identity_signing_key order by created_at desc`;
  return rows.map((row) => ({ kid: row.kid, algorithm: row.algorithm, privateJwk: row.private_jwk, publicJwk: row.public_jwk, retiredAt: row.retired_at }));
}

export async function insertSigningKey(db: Queryable, key: Omit<SigningKeyRow, 'retiredAt'>): Promise<void> {
  await db`insert into identity_signing_key (kid, algorithm, private_jwk, public_jwk)
           values (${key.kid}, ${key.algorithm}, ${db.json(key.privateJwk)}, ${db.json(key.publicJwk)})`;
}
