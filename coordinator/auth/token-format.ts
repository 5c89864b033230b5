/**
 * The shape of every Tunehive secret: `th<kind>_<id>_<secret>`. The id is public (lists,
 * revocation, audit); the secret is 32 random bytes and is stored only as its SHA-256. A plain
 * hash is enough here: the secret is high-entropy, so there is nothing to brute-force, and a
 * slow KDF would cost every request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `run`: a trial attempt's MLflow token (MLFLOW_TRACKING_TOKEN), limited to that one run. */
export type TokenKind = 'api' | 'worker-join' | 'worker' | 'run';

const KIND_TAG: Record<TokenKind, string> = { api: 'thk', 'worker-join': 'thj', worker: 'thw', run: 'thr' };
const TAG_KIND = new Map(Object.entries(KIND_TAG).map(([k, v]) => [v, k as TokenKind]));
const TOKEN = /^(th[kjwr])_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ParsedToken { kind: TokenKind; id: string; secret: string }

export function mintToken(kind: TokenKind): { token: string; id: string; hash: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { token: `${KIND_TAG[kind]}_${id}_${secret}`, id, hash: hashSecret(secret) };
}

/** A token made from an operator-given secret (TUNEHIVE_ADMIN_TOKEN, a pre-seeded join token). */
export function tokenFromSecret(secret: string): { id: string; hash: string } {
  // The id is derived, so every replica started with the same secret finds the same record.
  return { id: createHash('sha256').update(`id:${secret}`).digest('hex').slice(0, 16), hash: hashSecret(secret) };
}

export function parseToken(token: string): ParsedToken | undefined {
  const m = TOKEN.exec(token);
  const kind = m && TAG_KIND.get(m[1]!);
  return m && kind ? { kind, id: m[2]!, secret: m[3]! } : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
