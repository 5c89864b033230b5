import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../shared/redis.js';
import { CredentialStore } from '../../coordinator/store/credential-store.js';
import { parseToken } from '../../coordinator/auth/token-format.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';

const redis = connectRedis(redisUrl(), 'credential-store-test');
const store = new CredentialStore(redis, uniquePrefix('creds'));
afterAll(async () => { await redis.quit(); });

describe('credential store (real Redis)', () => {
  it('mints high-entropy tokens, stores only the hash, and verifies them', async () => {
    const { token, record } = await store.create({ kind: 'api', owner: 'ada', project: 'vision', role: 'editor', description: 'ci' });
    expect(parseToken(token)?.kind).toBe('api');
    const raw = await redis.hgetall(`${(store as unknown as { prefix: string }).prefix}:cred:${record.id}`);
    expect(JSON.stringify(raw)).not.toContain(parseToken(token)!.secret);
    expect((await store.verify(token))?.owner).toBe('ada');
    // A wrong secret with the right id, or a token of another kind with the same id, is refused.
    const wrong = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(await store.verify(wrong)).toBeUndefined();
    expect(await store.verify(token.replace(/^thk_/, 'thw_'))).toBeUndefined();
    expect(await store.verify('')).toBeUndefined();
  });

  it('expiry and revocation take effect on the next verify', async () => {
    const now = Date.now();
    const { token, record } = await store.create({ kind: 'api', owner: 'bob', role: 'viewer', ttlMs: 1000 }, now);
    expect(await store.verify(token, now + 500)).toBeDefined();
    expect(await store.verify(token, now + 1500)).toBeUndefined();
    const b = await store.create({ kind: 'api', owner: 'bob', role: 'viewer' });
    expect(await store.revoke(b.record.id)).toBe(true);
    expect(await store.revoke(b.record.id)).toBe(false);
    expect(await store.verify(b.token)).toBeUndefined();
    expect(record.expiresAt).toBe(now + 1000);
  });

  it('a join token with maxUses admits exactly that many exchanges, even concurrently', async () => {
    const { token } = await store.create({ kind: 'worker-join', owner: 'ops', role: 'viewer', maxUses: 3, projects: ['vision'] });
    const results = await Promise.all(Array.from({ length: 10 }, () => store.consume(token)));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(results.find(Boolean)?.projects).toEqual(['vision']);
  });

  it('operator secrets are idempotent across replicas and must be long enough', async () => {
    const secret = 'an-operator-secret-of-some-length';
    const a = await store.ensureOperatorSecret(secret, { kind: 'api', owner: 'admin', role: 'admin' });
    const b = await store.ensureOperatorSecret(secret, { kind: 'api', owner: 'admin', role: 'admin' });
    expect(a.id).toBe(b.id);
    expect((await store.verify(secret))?.role).toBe('admin');
    await expect(store.ensureOperatorSecret('short', { kind: 'api', owner: 'x', role: 'admin' })).rejects.toThrow(/at least 16/);
    // A secret in the shape of a minted token of its kind verifies too; of another kind it is refused.
    const shaped = 'thj_0123456789abcdef_' + 'j'.repeat(43);
    await store.ensureOperatorSecret(shaped, { kind: 'worker-join', owner: 'ops', role: 'viewer', projects: ['*'] });
    expect((await store.verify(shaped))?.kind).toBe('worker-join');
    await expect(store.ensureOperatorSecret(shaped, { kind: 'api', owner: 'admin', role: 'admin' })).rejects.toThrow(/shape of a worker-join token/);
  });

  it('extend slides a live credential\'s expiry (and its key\'s TTL); a revoked one is not extended', async () => {
    const now = Date.now();
    const { token, record } = await store.create({ kind: 'worker', owner: 'w-slide', role: 'viewer', ttlMs: 1000 }, now);
    expect(await store.extend(record.id, 60_000, now + 500)).toBe(true);
    expect(await store.verify(token, now + 30_000)).toBeDefined();
    expect(await redis.pttl(`${(store as unknown as { prefix: string }).prefix}:cred:${record.id}`)).toBeGreaterThan(7 * 86_400_000);
    await store.revoke(record.id);
    expect(await store.extend(record.id, 60_000)).toBe(false);
  });

  it('the sweep deletes records past their grace period', async () => {
    const s = new CredentialStore(redis, uniquePrefix('sweep'));
    const now = Date.now();
    const { record } = await s.create({ kind: 'api', owner: 'c', role: 'viewer', ttlMs: 10 }, now);
    await s.create({ kind: 'api', owner: 'd', role: 'viewer' }, now);
    expect(await s.sweep(now + 1000)).toBe(0);
    expect(await s.sweep(now + 8 * 86_400_000)).toBe(1);
    expect((await s.list()).map((r) => r.owner)).toEqual(['d']);
    expect(await s.get(record.id)).toBeUndefined();
    // A record gone by its own TTL leaves nothing in the index after a sweep either.
    const gone = await s.create({ kind: 'api', owner: 'e', role: 'viewer' }, now);
    await redis.del(`${(s as unknown as { prefix: string }).prefix}:cred:${gone.record.id}`);
    // A moment after its index entry the record may still be on its way (separate commands on a Cluster): kept.
    await s.sweep(now);
    expect(await redis.zrange(`${(s as unknown as { prefix: string }).prefix}:creds`, '0', '-1')).toHaveLength(2);
    await s.sweep(now + 2 * 60_000);
    expect(await redis.zrange(`${(s as unknown as { prefix: string }).prefix}:creds`, '0', '-1')).toHaveLength(1);
  });

  it("a trial attempt's run token is deleted when revoked, and one never revoked goes ten minutes after its expiry, not the week other credentials stay", async () => {
    const s = new CredentialStore(redis, uniquePrefix('sweep-run'));
    const now = Date.now();
    const run = await s.create({ kind: 'run', owner: 'trial:abcd.1', project: 'default', role: 'editor', runId: 'abcd.1', attempt: 1, ttlMs: 60_000 }, now);
    const api = await s.create({ kind: 'api', owner: 'f', role: 'viewer' }, now);
    expect(await s.revoke(run.record.id, now)).toBe(true);
    expect(await s.revoke(api.record.id, now)).toBe(true);
    expect(await s.get(run.record.id)).toBeUndefined();
    expect((await s.list()).map((r) => r.owner)).toEqual(['f']);
    expect(await s.revoke(run.record.id, now)).toBe(false);
    // Never revoked (its replica died): its record expires ten minutes after the token does.
    const lost = await s.create({ kind: 'run', owner: 'trial:abcd.2', project: 'default', role: 'editor', runId: 'abcd.2', attempt: 1, ttlMs: 60_000 }, now);
    const k = `${(s as unknown as { prefix: string }).prefix}:cred:${lost.record.id}`;
    expect(await redis.pttl(k)).toBeLessThanOrEqual(60_000 + 10 * 60_000);
    expect(await redis.pttl(k)).toBeGreaterThan(60_000 + 9 * 60_000);
    expect(await s.sweep(now + 12 * 60_000)).toBe(1);
    expect((await s.list()).map((r) => r.owner)).toEqual(['f']);
  });
});
