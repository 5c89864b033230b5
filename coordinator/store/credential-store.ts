/**
 * Credentials in Redis: API tokens, worker join tokens and per-worker credentials, one record
 * each, keyed by the token's public id and holding only the secret's hash. This module stores
 * and checks credentials; what a principal may do (roles, projects) is decided by the callers.
 *
 * Contract: `verify` is exact (never cached here: revocation takes effect on the next call);
 * `consume` is atomic (a join token with maxUses N admits exactly N exchanges, whichever
 * replica serves them). Expired and revoked records are deleted by `sweep` after a grace
 * period, so the set of records is bounded by the live credentials.
 */
import { type RedisClient, spreadPipeline, slotMulti } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';
import { hashSecret, mintToken, parseToken, secretMatches, tokenFromSecret, type TokenKind } from '../auth/token-format.js';

export type Role = 'viewer' | 'editor' | 'owner' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'editor', 'owner', 'admin'];

export interface CredentialRecord {
  id: string;
  kind: TokenKind;
  /** Who it acts for (a user name, or the worker id for worker credentials). */
  owner: string;
  /** The project it is limited to, or '*' for every project its owner may use. */
  project: string;
  /** The highest role it may exercise (its owner's role in a project still applies). */
  role: Role;
  scopes: string[];
  description: string;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
  /** Join tokens: how many exchanges it admits, and how many happened. */
  maxUses?: number;
  uses: number;
  /** Worker credentials and join tokens: the projects the worker may serve ('*' for any). */
  projects?: string[];
  /** Run tokens: the one run they may log to, and the trial attempt they were minted for. */
  runId?: string;
  attempt?: number;
}

export interface NewCredential {
  kind: TokenKind;
  owner: string;
  project?: string;
  role: Role;
  scopes?: string[];
  description?: string;
  ttlMs?: number;
  maxUses?: number;
  projects?: string[];
  runId?: string;
  attempt?: number;
}

/** Operator secrets (TUNEHIVE_ADMIN_TOKEN, ...) shorter than this are refused at start-up. */
export const MIN_OPERATOR_SECRET = 16;
/** Expired or revoked records stay this long (so lists can show why a token stopped working). */
export const CREDENTIAL_GRACE_MS = 7 * 86_400_000;
const GRACE_MS = CREDENTIAL_GRACE_MS;
/**
 * A trial attempt's MLflow run token (kind `run`) is minted per attempt, thousands an hour on a
 * busy fleet, and says nothing worth keeping once its attempt ended: revoked, its record is
 * deleted at once; one whose revocation was missed (its replica died) goes ten minutes after
 * its expiry. The index holds about the running attempts, not a week of trials.
 */
export const RUN_TOKEN_GRACE_MS = 10 * 60_000;
const graceOf = (kind: string | null | undefined): number => (kind === 'run' ? RUN_TOKEN_GRACE_MS : GRACE_MS);
/** An index entry without its record this young may be a write on its way (on a Cluster the two are separate commands). */
const WRITE_IN_FLIGHT_MS = 60_000;

export class CredentialStore {
  constructor(private readonly redis: RedisClient, private readonly prefix = 'th') {}

  async create(c: NewCredential, now = Date.now()): Promise<{ token: string; record: CredentialRecord }> {
    const { token, id, hash } = mintToken(c.kind);
    const record = await this.put(id, hash, c, now, true);
    return { token, record };
  }

  /** Registers an operator-given secret (idempotent: every replica may do it at start). */
  async ensureOperatorSecret(secret: string, c: NewCredential, now = Date.now()): Promise<CredentialRecord> {
    if (secret.length < MIN_OPERATOR_SECRET) throw new Error(`an operator secret must be at least ${MIN_OPERATOR_SECRET} characters`);
    // A secret in the shape of a minted token is looked up by its own id (as verify does).
    const parsed = parseToken(secret);
    if (parsed && parsed.kind !== c.kind) throw new Error(`this secret has the shape of a ${parsed.kind} token; use it for that, or choose another secret`);
    const { id, hash } = parsed ? { id: parsed.id, hash: hashSecret(parsed.secret) } : tokenFromSecret(secret);
    const existing = await this.get(id);
    if (existing && !existing.revokedAt) return existing;
    return this.put(id, hash, c, now);
  }

  /** The live record of a presented token, or undefined (unknown, wrong secret, expired, revoked). */
  async verify(token: string, now = Date.now()): Promise<CredentialRecord | undefined> {
    const parsed = parseToken(token);
    const { id, secret } = parsed ? { id: parsed.id, secret: parsed.secret } : { id: tokenFromSecret(token).id, secret: token };
    const h = await this.redis.hgetall(keys.credential(this.prefix, id));
    if (!h.hash || !secretMatches(secret, h.hash)) return undefined;
    const rec = toRecord(id, h);
    if (parsed && parsed.kind !== rec.kind) return undefined;
    return live(rec, now) ? rec : undefined;
  }

  /** Verifies a join token and counts one use, atomically; undefined when it admits no more. */
  async consume(token: string, now = Date.now()): Promise<CredentialRecord | undefined> {
    const rec = await this.verify(token, now);
    if (!rec) return undefined;
    if (rec.maxUses === undefined) {
      await this.redis.hincrby(keys.credential(this.prefix, rec.id), 'uses', 1);
      return rec;
    }
    // HINCRBY is atomic: of N concurrent exchanges past the limit, exactly the first maxUses win.
    const uses = await this.redis.hincrby(keys.credential(this.prefix, rec.id), 'uses', 1);
    return uses <= rec.maxUses ? { ...rec, uses } : undefined;
  }

  async get(id: string): Promise<CredentialRecord | undefined> {
    const h = await this.redis.hgetall(keys.credential(this.prefix, id));
    return h.hash ? toRecord(id, h) : undefined;
  }

  async list(filter: { owner?: string; kind?: TokenKind } = {}): Promise<CredentialRecord[]> {
    const ids = await this.redis.zrange(keys.credentials(this.prefix), '0', '-1');
    const pipe = spreadPipeline(this.redis);
    for (const id of ids) pipe.hgetall(keys.credential(this.prefix, id));
    const rows = (await pipe.exec()) ?? [];
    return ids.flatMap((id, i) => {
      const h = rows[i]?.[1] as Record<string, string> | undefined;
      if (!h?.hash) return [];
      const r = toRecord(id, h);
      return (filter.owner === undefined || r.owner === filter.owner) && (filter.kind === undefined || r.kind === filter.kind) ? [r] : [];
    });
  }

  /** Revokes a credential; false when there is none with this id or it was already revoked. */
  async revoke(id: string, now = Date.now()): Promise<boolean> {
    const k = keys.credential(this.prefix, id);
    // Every record has its hash field: one read says whether it exists and is live.
    const [hash, revoked, kind] = await this.redis.hmget(k, 'hash', 'revokedAt', 'kind');
    if (hash === null || revoked !== null) return false;
    // A run token ends with its attempt, one per trial attempt: nothing is kept of it (at a few hundred
    // trials a second even minutes of revoked records were the bulk of Redis; the soak showed it).
    if (kind === 'run') {
      await slotMulti(this.redis).unlink(k).zrem(keys.credentials(this.prefix), id).exec();
      return true;
    }
    // Together, in order (no MULTI: a record revoked but left without its expiry by a crash is the sweep's).
    await Promise.all([this.redis.hset(k, 'revokedAt', String(now)), this.redis.pexpire(k, graceOf(kind))]);
    return true;
  }

  /** Deletes a record outright (a bootstrap token minted by a replica that lost the race). */
  async remove(id: string): Promise<void> {
    await slotMulti(this.redis).unlink(keys.credential(this.prefix, id)).zrem(keys.credentials(this.prefix), id).exec();
  }

  /** Moves a live credential's expiry to now + ttlMs (sliding expiry); false when it is not live. */
  async extend(id: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const rec = await this.get(id);
    if (!rec || !live(rec, now)) return false;
    const k = keys.credential(this.prefix, id);
    await this.redis.multi().hset(k, 'expiresAt', String(now + ttlMs)).pexpire(k, ttlMs + graceOf(rec.kind)).exec();
    return true;
  }

  /** Deletes records that expired or were revoked more than the grace period ago. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    const flat = await this.redis.zrange(keys.credentials(this.prefix), '0', '-1', 'WITHSCORES');
    const ids: string[] = [];
    const createdAt = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) { ids.push(flat[i]!); createdAt.set(flat[i]!, Number(flat[i + 1])); }
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const read = spreadPipeline(this.redis);
      for (const id of batch) read.hgetall(keys.credential(this.prefix, id));
      const rows = (await read.exec()) ?? [];
      const drop = spreadPipeline(this.redis);
      batch.forEach((id, j) => {
        const h = rows[j]?.[1] as Record<string, string> | undefined;
        // A record that expired by its own TTL leaves only its index entry (unless it is being written now).
        if (!h?.hash) {
          if ((createdAt.get(id) ?? 0) <= now - WRITE_IN_FLIGHT_MS) drop.zrem(keys.credentials(this.prefix), id);
          return;
        }
        const r = toRecord(id, h);
        const ended = r.revokedAt ?? (r.expiresAt !== undefined && r.expiresAt <= now ? r.expiresAt : undefined);
        if (ended !== undefined && ended + graceOf(r.kind) <= now) {
          drop.unlink(keys.credential(this.prefix, id)).zrem(keys.credentials(this.prefix), id);
          removed++;
        }
      });
      await drop.exec();
    }
    return removed;
  }

  /**
   * `fresh`: a newly minted random id nobody knows yet, so nothing can read it half-written:
   * written without MULTI (run tokens are minted per trial attempt). The index entry goes first,
   * so a record cut short by a crash is still found by the sweep.
   */
  private async put(id: string, hash: string, c: NewCredential, now: number, fresh = false): Promise<CredentialRecord> {
    const fields: Record<string, string | number> = {
      hash, kind: c.kind, owner: c.owner, project: c.project ?? '*', role: c.role, scopes: JSON.stringify(c.scopes ?? []),
      description: c.description ?? '', createdAt: now, uses: 0,
    };
    if (c.ttlMs !== undefined) fields.expiresAt = now + c.ttlMs;
    if (c.maxUses !== undefined) fields.maxUses = c.maxUses;
    if (c.projects !== undefined) fields.projects = JSON.stringify(c.projects);
    if (c.runId !== undefined) fields.runId = c.runId;
    if (c.attempt !== undefined) fields.attempt = c.attempt;
    const k = keys.credential(this.prefix, id);
    if (fresh) {
      // Sent together on one connection: applied in this order.
      await Promise.all([this.redis.zadd(keys.credentials(this.prefix), now, id), this.redis.hset(k, fields),
        ...(c.ttlMs !== undefined ? [this.redis.pexpire(k, c.ttlMs + graceOf(c.kind))] : [])]);
    } else {
      const m = slotMulti(this.redis).del(k).hset(k, fields).zadd(keys.credentials(this.prefix), now, id);
      // An expiring record deletes itself after the grace period even if no sweep runs.
      if (c.ttlMs !== undefined) m.pexpire(k, c.ttlMs + graceOf(c.kind));
      await m.exec();
    }
    // The record is what was just written (DEL first): no read back (a run token is minted per trial attempt).
    return toRecord(id, Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])));
  }
}

/** Not revoked and not expired (the kind is the caller's business). */
export function live(r: CredentialRecord, now: number): boolean {
  return r.revokedAt === undefined && (r.expiresAt === undefined || r.expiresAt > now);
}

function toRecord(id: string, h: Record<string, string>): CredentialRecord {
  const r: CredentialRecord = {
    id, kind: h.kind as TokenKind, owner: h.owner ?? '', project: h.project ?? '*', role: (h.role ?? 'viewer') as Role,
    scopes: JSON.parse(h.scopes ?? '[]') as string[], description: h.description ?? '', createdAt: Number(h.createdAt ?? 0), uses: Number(h.uses ?? 0),
  };
  if (h.expiresAt) r.expiresAt = Number(h.expiresAt);
  if (h.revokedAt) r.revokedAt = Number(h.revokedAt);
  if (h.maxUses) r.maxUses = Number(h.maxUses);
  if (h.projects) r.projects = JSON.parse(h.projects) as string[];
  if (h.runId) r.runId = h.runId;
  if (h.attempt) r.attempt = Number(h.attempt);
  return r;
}
