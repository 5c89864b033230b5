/**
 * Who a request acts for: the verified API token, and where it came from in the request.
 * Tokens are accepted as `Authorization: Bearer <token>` or HTTP Basic with the token as the
 * user name or the password (tools that only speak Basic, MLflow's username/password settings).
 */
import { createHash } from 'node:crypto';
import type { CredentialRecord, CredentialStore, Role } from '../store/credential-store.js';
import { parseToken } from './token-format.js';

export interface Principal {
  credentialId: string;
  owner: string;
  /** '*' or the one project the token is limited to. */
  project: string;
  /** The highest role the token may exercise. */
  role: Role;
  scopes: string[];
  expiresAt?: number;
  admin: boolean;
  /** A run token's run and attempt: it may act on that run only (MLflow routes marked `runToken`). */
  runId?: string;
  attempt?: number;
}

export function principalOf(rec: CredentialRecord): Principal {
  const p: Principal = { credentialId: rec.id, owner: rec.owner, project: rec.project, role: rec.role, scopes: rec.scopes, admin: rec.role === 'admin' && rec.project === '*' };
  if (rec.expiresAt !== undefined) p.expiresAt = rec.expiresAt;
  if (rec.kind === 'run') {
    p.admin = false;
    if (rec.runId !== undefined) p.runId = rec.runId;
    if (rec.attempt !== undefined) p.attempt = rec.attempt;
  }
  return p;
}

/** The presented token of an Authorization header, or undefined when there is none usable. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const sp = header.indexOf(' ');
  const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
  const value = sp < 0 ? '' : header.slice(sp + 1).trim();
  if (!value || value.length > 4096) return undefined;
  if (scheme === 'bearer') return value;
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const pass = colon < 0 ? '' : decoded.slice(colon + 1);
  if (user && !pass) return user;
  if (pass && !user) return pass;
  // Both given: the one shaped like a Tunehive token, else the password (`anything:<token>`).
  return parseToken(user) && !parseToken(pass) ? user : pass || undefined;
}

/**
 * Verifies tokens with a short in-memory cache keyed by the token's hash, so a request costs
 * no Redis round trip for its token while the entry is fresh. The price: a revoked token keeps
 * working on a replica for at most `cacheMs` (2 s by default). Expiry is checked on every use.
 * Failures are never cached: a token created a moment ago works at once.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, { rec: CredentialRecord; until: number }>();

  constructor(private readonly creds: CredentialStore, private readonly o: { cacheMs?: number; maxEntries?: number } = {}) {}

  async verify(token: string, now = Date.now()): Promise<CredentialRecord | undefined> {
    const cacheMs = this.o.cacheMs ?? 2000;
    const key = createHash('sha256').update(token).digest('base64');
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.rec.expiresAt !== undefined && hit.rec.expiresAt <= now ? undefined : hit.rec;
    if (hit) this.cache.delete(key);
    const rec = await this.creds.verify(token, now);
    if (rec && cacheMs > 0) {
      // Bounded: drop the oldest entry (Map keeps insertion order).
      if (this.cache.size >= (this.o.maxEntries ?? 10_000)) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { rec, until: now + cacheMs });
    }
    return rec;
  }

  /** Forgets a revoked credential on this replica at once (other replicas within cacheMs). */
  forget(id: string): void {
    for (const [k, v] of this.cache) if (v.rec.id === id) this.cache.delete(k);
  }
}
