/**
 * Browser sessions: the dashboard logs in once with a token and then holds an opaque cookie
 * instead of the token, so the token never sits in page-readable storage (the cookie is
 * HttpOnly). Redis keeps, under the SHA-256 of the cookie value, only the credential id and the
 * session's CSRF token: a leaked Redis dump gives no usable cookie.
 *
 * Sliding lifetime: every use renews the key's TTL (12 h by default), so an idle session ends by
 * itself and nothing needs sweeping. The credential is re-read on every use, so a revoked or
 * expired token ends its sessions at their next request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';
import type { CredentialRecord, CredentialStore } from '../store/credential-store.js';

export const SESSION_COOKIE = 'th_session';
export const SESSION_TTL_MS = 12 * 3_600_000;
/** The cookie value: 32 random bytes, base64url (43 characters). */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface Session { credential: CredentialRecord; csrf: string }

const hashOf = (sid: string) => createHash('sha256').update(sid).digest('hex');

export class SessionStore {
  constructor(private readonly redis: RedisClient, private readonly creds: CredentialStore, private readonly prefix = 'th', readonly ttlMs = SESSION_TTL_MS) {}

  /** A new session for a verified API credential: the cookie value and the CSRF token. */
  async create(credentialId: string, now = Date.now()): Promise<{ sid: string; csrf: string }> {
    const sid = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const k = keys.session(this.prefix, hashOf(sid));
    await this.redis.multi().hset(k, { credentialId, csrf, createdAt: now }).pexpire(k, this.ttlMs).exec();
    return { sid, csrf };
  }

  /**
   * The live session of a cookie value, its TTL renewed; undefined for an unknown, expired or
   * malformed one, or one whose credential is no longer live (the session is deleted then).
   */
  async lookup(sid: string, now = Date.now()): Promise<Session | undefined> {
    if (!SESSION_ID.test(sid)) return undefined;
    const k = keys.session(this.prefix, hashOf(sid));
    // PEXPIRE on a missing key is a no-op, so the renewal rides along in the same round trip.
    const rows = (await this.redis.multi().hgetall(k).pexpire(k, this.ttlMs).exec()) ?? [];
    const h = (rows[0]?.[1] ?? {}) as Record<string, string>;
    if (!h.credentialId || !h.csrf) return undefined;
    const credential = await this.creds.get(h.credentialId);
    const live = credential && credential.kind === 'api' && credential.revokedAt === undefined && (credential.expiresAt === undefined || credential.expiresAt > now);
    if (!live) {
      await this.redis.unlink(k);
      return undefined;
    }
    return { credential, csrf: h.csrf };
  }

  async remove(sid: string): Promise<void> {
    if (SESSION_ID.test(sid)) await this.redis.unlink(keys.session(this.prefix, hashOf(sid)));
  }
}

/** Constant-time check of the CSRF header against the session's token. */
export function csrfMatches(presented: string | string[] | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie in a Cookie header (no dependency: one name, plain token values). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie value. SameSite=Strict keeps the cookie off cross-site requests (the first CSRF
 * defence; the header check is the second); Secure when the coordinator serves HTTPS, so a
 * plain-HTTP coordinator inside a network still works.
 */
export function sessionCookie(sid: string, o: { secure: boolean; maxAgeMs?: number }): string {
  const parts = [`${SESSION_COOKIE}=${sid}`, 'HttpOnly', 'SameSite=Strict', 'Path=/'];
  if (o.maxAgeMs !== undefined) parts.push(`Max-Age=${Math.floor(o.maxAgeMs / 1000)}`);
  if (o.secure) parts.push('Secure');
  return parts.join('; ');
}
