/**
 * Who is calling the trial service. A worker joins once with a join token (kind 'worker-join')
 * and gets a credential of its own (kind 'worker', owner = its worker id, the join token's
 * projects); every later call carries that credential as `authorization: Bearer thw_...`
 * metadata and is checked here against the credential store (never cached, so a revocation
 * takes effect on the next call). What the caller may do with an attempt is decided by the
 * trial service with the principal this returns.
 */
import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { RedisClient } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';
import { TunehiveError } from '../../shared/errors.js';
import { AUTH_METADATA, type JoinReply, type JoinRequest } from '../../shared/proto.js';
import { CREDENTIAL_GRACE_MS, type CredentialStore } from '../store/credential-store.js';
import type { TokenVerifier } from './principal.js';
import { parseToken } from './token-format.js';

export interface WorkerPrincipal {
  workerId: string;
  /** The credential's public id (audit, revocation). */
  credentialId: string;
  /** Projects whose trials this worker may run; '*' for any. */
  projects: string[];
  /** The presented credential, to re-check it later on the same stream (revocation). */
  token: string;
}

/** Worker ids become parts of key names and logs: a conservative charset. */
export const WORKER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_TOKEN_CHARS = 512;
/** Attempts to find a free worker id when the asked one is held by a live worker. */
const ID_TRIES = 5;
/**
 * Worker credentials expire unless used: each is renewed (at most daily) while its worker
 * calls, so a machine that is gone for good leaves no credential or id claim behind for long.
 */
export const WORKER_CREDENTIAL_TTL_MS = 30 * 86_400_000;
const RENEW_AFTER_MS = 86_400_000;

const unauthenticated = (why: string) => new TunehiveError('TH_ERR_WORKER_UNAUTHENTICATED', why);

export function mayServe(p: Pick<WorkerPrincipal, 'projects'>, project: string): boolean {
  return p.projects.includes('*') || p.projects.includes(project);
}

/** How long an address's failed joins are counted. */
const JOIN_WINDOW_MS = 60_000;

export class WorkerAuth {
  /** Failed joins (unknown, expired or revoked join tokens) per client address in the window. */
  private readonly joinFailures = new Map<string, { n: number; since: number }>();

  constructor(private readonly credentials: CredentialStore, private readonly verifier: TokenVerifier, private readonly redis: RedisClient, private readonly prefix: string,
    private readonly failuresPerMinute = 20) {}

  /** The presented bearer credential of a call's metadata ('' when there is none). */
  static bearer(metadata: grpc.Metadata): string {
    const v = metadata.get(AUTH_METADATA)[0];
    const s = typeof v === 'string' ? v : '';
    const m = /^Bearer\s+(\S{1,512})$/i.exec(s);
    return m ? m[1]! : '';
  }

  /** The worker behind a call, or a TH_ERR_WORKER_UNAUTHENTICATED error. */
  async authenticate(metadata: grpc.Metadata): Promise<WorkerPrincipal> {
    const token = WorkerAuth.bearer(metadata);
    if (!token) throw unauthenticated('no worker credential: send `authorization: Bearer thw_...` (join first with a join token)');
    const p = await this.check(token);
    if (!p) throw unauthenticated('the worker credential is unknown, expired or revoked: join again with a join token');
    return p;
  }

  /** The principal of a credential while it is live; undefined once revoked or expired. */
  async check(token: string): Promise<WorkerPrincipal | undefined> {
    // Cached briefly: every heartbeat of every slot checks it, and a heartbeat is one round trip.
    const rec = await this.verifier.verify(token);
    if (!rec || rec.kind !== 'worker') return undefined;
    const now = Date.now();
    if (rec.expiresAt !== undefined && rec.expiresAt - now < WORKER_CREDENTIAL_TTL_MS - RENEW_AFTER_MS) {
      await this.credentials.extend(rec.id, WORKER_CREDENTIAL_TTL_MS, now);
      await this.redis.pexpire(keys.workerClaim(this.prefix, rec.owner), WORKER_CREDENTIAL_TTL_MS + CREDENTIAL_GRACE_MS);
      this.verifier.forget(rec.id);
    }
    return { workerId: rec.owner, credentialId: rec.id, projects: rec.projects ?? [], token };
  }

  /** Exchanges a join token for a credential of the worker's own (one use of the join token). */
  async join(req: JoinRequest, peer = '', now = Date.now()): Promise<JoinReply> {
    const token = req.joinToken ?? '';
    if (!token || token.length > MAX_TOKEN_CHARS) throw unauthenticated('a join token is required (--join-token or TUNEHIVE_JOIN_TOKEN)');
    // Past its budget, an address gets no more checks of secrets not shaped like minted tokens
    // (the operator's TUNEHIVE_WORKER_JOIN_TOKEN may be short): no guessing oracle. Minted join
    // tokens carry 256 random bits and are still checked, so real agents behind it join.
    const addr = peer.replace(/:\d+$/, '');
    let f = this.joinFailures.get(addr);
    if (f && now - f.since >= JOIN_WINDOW_MS) {
      this.joinFailures.delete(addr);
      f = undefined;
    }
    if (f && f.n >= this.failuresPerMinute && !parseToken(token)) {
      throw new TunehiveError('TH_ERR_AUTH_RATE_LIMITED', `too many failed joins from this address; retry in ${Math.ceil((f.since + JOIN_WINDOW_MS - now) / 1000)} s`);
    }
    const asked = req.workerId ?? '';
    if (!WORKER_ID.test(asked)) {
      throw new TunehiveError('TH_ERR_WIRE_INVALID', 'join.workerId must be 1 to 128 letters, digits, dots, dashes or underscores, starting with a letter or digit',
        [{ field: 'join.workerId', reason: 'invalid worker id' }]);
    }
    const join = await this.credentials.verify(token);
    if (!join || join.kind !== 'worker-join') {
      if (!f) {
        if (this.joinFailures.size >= 10_000) this.joinFailures.delete(this.joinFailures.keys().next().value!);
        this.joinFailures.set(addr, (f = { n: 0, since: now }));
      }
      f.n++;
      throw unauthenticated('the join token is unknown, expired or revoked');
    }
    // Counted atomically: a token with maxUses N admits exactly N joins over every replica.
    const used = await this.credentials.consume(token);
    if (!used) throw unauthenticated(`the join token has been used ${join.maxUses ?? 0} times, its maxUses`);
    const workerId = await this.claimId(asked);
    const projects = used.projects ?? ['*'];
    const { token: credential, record } = await this.credentials.create({
      kind: 'worker', owner: workerId, role: 'viewer', projects, description: `worker ${workerId}, joined with ${used.id}`, ttlMs: WORKER_CREDENTIAL_TTL_MS,
    });
    // The id stays claimed while its credential lives, and a grace period after (its attempts have long ended then).
    await this.redis.set(keys.workerClaim(this.prefix, workerId), record.id, 'PX', WORKER_CREDENTIAL_TTL_MS + CREDENTIAL_GRACE_MS);
    return { credential, workerId, projects };
  }

  /**
   * The asked id if no worker holds it yet, else the id with a random suffix: a joiner never
   * takes over another worker's id (attempts are bound to it). A claim lives as long as the
   * id's credential, plus a grace period, so a revoked worker's id is not handed out again soon.
   */
  private async claimId(asked: string): Promise<string> {
    for (let i = 0; i < ID_TRIES; i++) {
      const id = i === 0 ? asked : `${asked.slice(0, 120)}-${randomBytes(3).toString('hex')}`;
      if ((await this.redis.set(keys.workerClaim(this.prefix, id), 'joining', 'PX', WORKER_CREDENTIAL_TTL_MS + CREDENTIAL_GRACE_MS, 'NX')) === 'OK') return id;
    }
    throw new TunehiveError('TH_ERR_WORKER_FORBIDDEN', `worker id ${JSON.stringify(asked)} and ${ID_TRIES - 1} variants are taken`);
  }

  /** Revokes every live credential of a worker; returns how many. */
  async revokeWorker(workerId: string): Promise<number> {
    let n = 0;
    for (const r of await this.credentials.list({ owner: workerId, kind: 'worker' })) {
      if (await this.credentials.revoke(r.id)) n++;
      this.verifier.forget(r.id);
    }
    await this.redis.pexpire(keys.workerClaim(this.prefix, workerId), CREDENTIAL_GRACE_MS);
    return n;
  }
}
