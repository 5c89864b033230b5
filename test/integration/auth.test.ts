/**
 * Authentication and tenancy over real HTTP and Redis: project isolation, Basic auth, expiry,
 * revocation, the failed-auth rate limit, the bootstrap admin, token limits, the audit log,
 * security headers and /metrics.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/redis-keys.js';
import { bootstrapAuth } from '../../coordinator/auth/bootstrap.js';
import { CredentialStore } from '../../coordinator/store/credential-store.js';
import { ProjectStore } from '../../coordinator/store/project-store.js';
import { redisUrl, TEST_ADMIN_TOKEN, uniquePrefix, waitFor } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, studyWithTrial, userToken } from '../helpers/auth.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('HTTP authentication and projects', () => {
  let stack: TestStack;
  let base: string;
  let redis: Redis;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    stack = await startTestStack('auth', { workers: 0, coordinator: { authFailuresPerMinute: 1_000_000 } });
    base = stack.coordinator.httpUrl;
    redis = new Redis(redisUrl());
    await ensureProject(base, 'team-a');
    await ensureProject(base, 'team-b');
    alice = (await userToken(base, 'alice', { 'team-a': 'owner' })).token;
    bob = (await userToken(base, 'bob', { 'team-b': 'owner' })).token;
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  it('keeps two projects apart: lists, reads, trials, metrics, writes', async () => {
    const sa = await studyWithTrial(base, 'team-a', alice);
    const sb = await studyWithTrial(base, 'team-b', bob);
    const listA = await call(base, 'GET', '/api/v1/studies?limit=1000', { token: alice });
    expect(listA.body.studies.map((s: any) => s.id)).toEqual([sa.studyId]);
    expect(listA.body.total).toBe(1);
    expect(listA.body.studies[0].project).toBe('team-a');
    expect((await call(base, 'GET', '/api/v1/studies?project=team-a', { token: bob })).body).toMatchObject({ total: 0, studies: [] });
    const all = await call(base, 'GET', '/api/v1/studies?limit=1000');
    expect(all.body.studies.map((s: any) => s.id)).toEqual(expect.arrayContaining([sa.studyId, sb.studyId]));
    for (const url of [`/api/v1/studies/${sb.studyId}`, `/api/v1/studies/${sb.studyId}/trials`, `/api/v1/trials/${sb.trialId}`, `/api/v1/trials/${sb.trialId}/metrics`, `/api/v1/trials/${sb.trialId}/metrics/loss`]) {
      const r = await call(base, 'GET', url, { token: alice });
      expect(r.status, url).toBe(404);
      // The same answer as for an id that never existed.
      const unknown = await call(base, 'GET', url.replace(sb.studyId, 'zzzzzzzzzz'), { token: alice });
      expect(r.body.error.code).toBe(unknown.body.error.code);
      expect((await call(base, 'GET', url, { token: bob })).status, url).toBe(200);
    }
    expect((await call(base, 'POST', `/api/v1/studies/${sb.studyId}/stop`, { token: alice })).status).toBe(404);
    expect((await call(base, 'DELETE', `/api/v1/studies/${sb.studyId}?force=true`, { token: alice })).status).toBe(404);
    expect((await call(base, 'GET', `/api/v1/studies/${sb.studyId}`, { token: bob })).body.state).toBe('RUNNING');
    // Each project has its own index: listing reads that, never the others.
    expect(await redis.zrange(keys.projectStudies(stack.prefix, 'team-a'), '0', '-1')).toEqual([sa.studyId]);
    // Projects: each sees its own; the admin sees all.
    expect((await call(base, 'GET', '/api/v1/projects', { token: alice })).body.projects.map((p: any) => p.name)).toEqual(['team-a']);
    expect((await call(base, 'GET', '/api/v1/projects/team-b', { token: alice })).status).toBe(404);
    // Deleting the study takes it out of its project's index.
    expect((await call(base, 'DELETE', `/api/v1/studies/${sa.studyId}?force=true`, { token: alice })).status).toBe(200);
    expect(await redis.zcard(keys.projectStudies(stack.prefix, 'team-a'))).toBe(0);
  });

  it('deletes a project only when empty, by its owner, and leaves nothing of it behind', async () => {
    expect((await call(base, 'POST', '/api/v1/projects', { token: alice, body: { name: 'team-gone' } })).status).toBe(201);
    const s = await studyWithTrial(base, 'team-gone', alice);
    expect((await call(base, 'DELETE', '/api/v1/projects/team-gone', { token: bob })).status).toBe(404);
    const full = await call(base, 'DELETE', '/api/v1/projects/team-gone', { token: alice });
    expect(full.status).toBe(409);
    expect(full.body.error.fields[0]).toMatchObject({ field: 'params.name', reason: 'holds 1 studies' });
    expect((await call(base, 'DELETE', `/api/v1/studies/${s.studyId}?force=true`, { token: alice })).status).toBe(200);
    expect((await call(base, 'DELETE', '/api/v1/projects/team-gone', { token: alice })).body).toEqual({ project: 'team-gone', deleted: true });
    expect((await call(base, 'GET', '/api/v1/projects/team-gone', { token: alice })).status).toBe(404);
    expect(await redis.hget(keys.memberProjects(stack.prefix, 'alice'), 'team-gone')).toBeNull();
    for (const k of [keys.project(stack.prefix, 'team-gone'), keys.projectMembers(stack.prefix, 'team-gone'), keys.projectAudit(stack.prefix, 'team-gone')]) expect(await redis.exists(k), k).toBe(0);
    expect((await call(base, 'DELETE', '/api/v1/projects/default')).status).toBe(409);
  });

  it('has no access by default, and makes the creator of a project its owner', async () => {
    const carol = (await call(base, 'POST', '/api/v1/tokens', { body: { owner: 'carol', role: 'owner' } })).body.token as string;
    expect((await call(base, 'GET', '/api/v1/projects', { token: carol })).body.projects).toEqual([]);
    expect((await call(base, 'GET', '/api/v1/studies', { token: carol })).body.total).toBe(0);
    const spec = { name: 'x', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 2 };
    expect((await call(base, 'POST', '/api/v1/studies', { token: carol, body: spec })).status).toBe(404); // "default" is not hers
    expect((await call(base, 'POST', '/api/v1/projects', { token: carol, body: { name: 'carols' } })).status).toBe(201);
    expect((await call(base, 'POST', '/api/v1/studies', { token: carol, body: { ...spec, project: 'carols' } })).status).toBe(201);
    // Owners manage members; the last owner cannot leave.
    expect((await call(base, 'PUT', '/api/v1/projects/carols/members/dave', { token: carol, body: { role: 'viewer' } })).status).toBe(200);
    const detail = await call(base, 'GET', '/api/v1/projects/carols', { token: carol });
    expect(detail.body.members).toEqual([{ owner: 'carol', role: 'owner' }, { owner: 'dave', role: 'viewer' }]);
    const dave = (await call(base, 'POST', '/api/v1/tokens', { body: { owner: 'dave', role: 'owner' } })).body.token as string;
    expect((await call(base, 'GET', '/api/v1/studies?project=carols', { token: dave })).body.total).toBe(1);
    expect((await call(base, 'PUT', '/api/v1/projects/carols/members/erin', { token: dave, body: { role: 'viewer' } })).status).toBe(403);
    expect((await call(base, 'DELETE', '/api/v1/projects/carols/members/dave', { token: carol })).body.removed).toBe(true);
    // Seen at once on this replica (the membership cache is dropped by the change).
    expect((await call(base, 'GET', '/api/v1/projects/carols', { token: dave })).status).toBe(404);
    expect((await call(base, 'GET', '/api/v1/studies?project=carols', { token: dave })).body.total).toBe(0);
    const last = await call(base, 'DELETE', '/api/v1/projects/carols/members/carol', { token: carol });
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('TH_ERR_PROJECT_LAST_OWNER');
    expect((await call(base, 'POST', '/api/v1/projects', { token: carol, body: { name: 'carols' } })).status).toBe(409);
    expect((await call(base, 'POST', '/api/v1/projects', { token: carol, body: { name: 'Bad_Name' } })).body.error.fields[0].field).toBe('name');
  });

  it('accepts HTTP Basic with the token as user name or as password', async () => {
    for (const auth of [basic(alice, ''), basic('', alice), basic('anyone', alice), basic(TEST_ADMIN_TOKEN, '')]) {
      expect((await call(base, 'GET', '/api/v1/whoami', { authorization: auth })).status, auth).toBe(200);
    }
    expect((await call(base, 'GET', '/api/v1/whoami', { authorization: basic('alice', 'wrong') })).status).toBe(401);
    expect((await call(base, 'GET', '/api/v1/whoami', { authorization: `Bearer ${alice}` })).body).toMatchObject({ owner: 'alice', role: 'owner', project: '*', admin: false });
  });

  it('refuses an expired token and a revoked one', async () => {
    const short = await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { ttl: '1s', description: 'short' } });
    expect(short.status).toBe(201);
    expect(Date.parse(short.body.expiresAt) - Date.now()).toBeLessThanOrEqual(1000);
    expect((await call(base, 'GET', '/api/v1/whoami', { token: short.body.token })).status).toBe(200);
    // Expiry is checked on every use, cached or not.
    await waitFor(async () => (await call(base, 'GET', '/api/v1/whoami', { token: short.body.token })).status === 401, 5000, 'the token to expire');

    const t = await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { description: 'to revoke' } });
    expect((await call(base, 'GET', '/api/v1/whoami', { token: t.body.token })).status).toBe(200);
    expect((await call(base, 'DELETE', `/api/v1/tokens/${t.body.id}`, { token: bob })).status).toBe(404); // not bob's
    const revoked = await call(base, 'DELETE', `/api/v1/tokens/${t.body.id}`, { token: alice });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    // This replica forgets it at once; others within the 2 s cache.
    const after = await call(base, 'GET', '/api/v1/whoami', { token: t.body.token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('TH_ERR_AUTH_INVALID');
    const listed = (await call(base, 'GET', '/api/v1/tokens', { token: alice })).body.tokens;
    expect(listed.every((x: any) => x.owner === 'alice')).toBe(true);
    expect(JSON.stringify(listed)).not.toContain(t.body.token.split('_').slice(2).join('_'));
  });

  it('a revocation reaches another replica within its cache time', async () => {
    const t = await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { description: 'replicas' } });
    const other = await startTestStack('auth-replica', { workers: 0, coordinator: { prefix: stack.prefix } as never });
    try {
      const b2 = other.coordinator.httpUrl;
      expect((await call(b2, 'GET', '/api/v1/whoami', { token: t.body.token })).status).toBe(200); // now cached there
      await call(base, 'DELETE', `/api/v1/tokens/${t.body.id}`, { token: alice });
      const start = Date.now();
      await waitFor(async () => (await call(b2, 'GET', '/api/v1/whoami', { token: t.body.token })).status === 401, 5000, 'the other replica to refuse it');
      expect(Date.now() - start).toBeLessThan(3000);
    } finally {
      await other.close();
    }
  });

  it('never makes a token with more than its creator has', async () => {
    const viewerCap = (await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { role: 'viewer' } })).body.token as string;
    const limited = (await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { project: 'team-a' } })).body.token as string;
    const cases: Array<[string, string, unknown]> = [
      ['a higher role', viewerCap, { role: 'editor' }],
      ['admin', alice, { role: 'admin' }],
      ['another owner', alice, { owner: 'mallory' }],
      ['every project from a limited token', limited, { project: '*' }],
      ['another project from a limited token', limited, { project: 'team-b' }],
      ['a scope it lacks', alice, { scopes: ['metrics'] }],
      ['a join token for a project it does not own', viewerCap, { kind: 'worker-join', projects: ['team-a'] }],
      ['a join token for every project', alice, { kind: 'worker-join', projects: ['*'] }],
    ];
    for (const [what, token, body] of cases) {
      const r = await call(base, 'POST', '/api/v1/tokens', { token, body });
      expect(r.status, `${what}: ${r.text}`).toBe(403);
    }
    // A project-limited token of one's own defaults to the role held there.
    const eve = (await userToken(base, 'eve', { 'team-a': 'editor' })).token;
    const eveA = await call(base, 'POST', '/api/v1/tokens', { token: eve, body: { project: 'team-a' } });
    expect(eveA.body).toMatchObject({ project: 'team-a', role: 'editor' });
    expect((await call(base, 'POST', '/api/v1/tokens', { token: eve, body: { project: 'team-a', role: 'owner' } })).status).toBe(403);
    expect((await call(base, 'POST', '/api/v1/projects', { token: eveA.body.token, body: { name: 'from-limited' } })).status).toBe(403);
    // A project the creator cannot read is unknown to it.
    expect((await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { project: 'team-b' } })).status).toBe(404);
    const short = (await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { ttl: '1h' } })).body;
    expect((await call(base, 'POST', '/api/v1/tokens', { token: short.token, body: { ttl: '2h' } })).status).toBe(403);
    const child = (await call(base, 'POST', '/api/v1/tokens', { token: short.token, body: {} })).body;
    expect(Date.parse(child.expiresAt)).toBeLessThanOrEqual(Date.parse(short.expiresAt));
    // A viewer-capped token acts as a viewer even where its owner is owner.
    const sa = await studyWithTrial(base, 'team-a', alice);
    const stop = await call(base, 'POST', `/api/v1/studies/${sa.studyId}/stop`, { token: viewerCap });
    expect(stop.status).toBe(403);
    expect(stop.body.error.message).toContain('needs role editor in project "team-a"; the token has viewer');
    // Join tokens: owners of their projects may mint them, 24 h by default; the secret only once.
    const join = await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { kind: 'worker-join', projects: ['team-a'], maxUses: 3 } });
    expect(join.status).toBe(201);
    expect(join.body.token).toMatch(/^thj_/);
    expect(join.body).toMatchObject({ kind: 'worker-join', projects: ['team-a'], maxUses: 3 });
    expect(Math.abs(Date.parse(join.body.expiresAt) - Date.now() - 24 * 3_600_000)).toBeLessThan(60_000);
    // A join token does not speak HTTP.
    expect((await call(base, 'GET', '/api/v1/whoami', { token: join.body.token })).status).toBe(401);
    expect((await call(base, 'POST', '/api/v1/tokens', { token: alice, body: { ttl: '5 years' } })).body.error.fields[0].field).toBe('ttl');
  });

  it('audits every write: who, what, target, result, address; owners read their project, admins all', async () => {
    const sa = await studyWithTrial(base, 'team-a', alice);
    await call(base, 'POST', `/api/v1/studies/${sa.studyId}/stop`, { token: bob }); // refused: 404, still audited
    await call(base, 'POST', `/api/v1/studies/${sa.studyId}/stop`, { token: alice });
    const mine = await call(base, 'GET', '/api/v1/audit?project=team-a&limit=1000', { token: alice });
    expect(mine.status).toBe(200);
    const stop = mine.body.entries.find((e: any) => e.route === '/api/v1/studies/:id/stop' && e.status === 200);
    expect(stop).toMatchObject({ owner: 'alice', method: 'POST', target: { id: sa.studyId }, project: 'team-a', ip: '127.0.0.1' });
    expect(stop.credentialId).toMatch(/^[0-9a-f]{16}$/);
    expect(mine.body.entries.find((e: any) => e.route === '/api/v1/studies' && e.target.studyId === sa.studyId)).toMatchObject({ status: 201 });
    expect(mine.body.entries.every((e: any) => e.project === 'team-a')).toBe(true);
    // Bob's refused attempt is in the global log, not in team-a's (he had no access to it).
    const all = await call(base, 'GET', '/api/v1/audit?limit=1000');
    expect(all.body.entries.find((e: any) => e.owner === 'bob' && e.status === 404 && e.target.id === sa.studyId)).toBeDefined();
    expect((await call(base, 'GET', '/api/v1/audit?project=team-a', { token: bob })).status).toBe(404);
    expect((await call(base, 'GET', '/api/v1/audit', { token: alice })).status).toBe(403);
    // Pages: newest first, `next` continues where the page ended.
    const p1 = await call(base, 'GET', '/api/v1/audit?project=team-a&limit=2', { token: alice });
    const p2 = await call(base, 'GET', `/api/v1/audit?project=team-a&limit=2&before=${p1.body.next}`, { token: alice });
    expect(p1.body.entries).toHaveLength(2);
    expect(p2.body.entries[0].id < p1.body.entries[1].id).toBe(true);
    expect(p1.body.entries.map((e: any) => e.id)).toEqual(mine.body.entries.slice(0, 2).map((e: any) => e.id));
  });

  it('sends security headers, with a CSP that lets the local docs UI run', async () => {
    const r = await call(base, 'GET', '/api/v1/whoami');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    const docs = await call(base, 'GET', '/docs/static/index.html');
    const csp = docs.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/https:|validator\.swagger\.io|upgrade-insecure-requests/);
  });

  it('guards /metrics with the metrics scope', async () => {
    expect((await call(base, 'GET', '/metrics', { token: null })).status).toBe(401);
    expect((await call(base, 'GET', '/metrics', { token: alice })).status).toBe(403);
    const scraper = (await call(base, 'POST', '/api/v1/tokens', { body: { owner: 'prometheus', role: 'viewer', scopes: ['metrics'] } })).body.token;
    const ok = await call(base, 'GET', '/metrics', { token: scraper });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('tunehive_');
    // ...and the scraper's token reads nothing else.
    expect((await call(base, 'GET', '/api/v1/studies', { token: scraper })).body.total).toBe(0);
    expect((await call(base, 'GET', '/healthz', { token: null })).status).toBe(200);
  });
});

describe('failed authentications are rate limited per address', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('auth-rate', { workers: 0, coordinator: { authFailuresPerMinute: 5, openMetrics: true } }); });
  afterAll(async () => stack?.close());

  it('answers 429 with Retry-After past the budget, while good minted tokens still get through', async () => {
    const base = stack.coordinator.httpUrl;
    const minted = (await call(base, 'POST', '/api/v1/tokens', { body: {} })).body.token as string;
    for (let i = 0; i < 5; i++) expect((await call(base, 'GET', '/api/v1/studies', { token: `wrong-${i}-xxxxxxxxxxxxxxxx` })).status).toBe(401);
    const limited = await call(base, 'GET', '/api/v1/studies', { token: 'wrong-6-xxxxxxxxxxxxxxxx' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('TH_ERR_AUTH_RATE_LIMITED');
    expect((await call(base, 'GET', '/api/v1/studies', { token: null })).status).toBe(429);
    // Successes are not counted and not limited.
    // (An operator secret, which may be short, is not checked from this address meanwhile: see auth-attacks.)
    for (let i = 0; i < 10; i++) expect((await call(base, 'GET', '/api/v1/studies', { token: minted })).status).toBe(200);
    // --open-metrics: no token needed there.
    expect((await call(base, 'GET', '/metrics', { token: null })).status).toBe(200);
  });
});

describe('bootstrap admin', () => {
  it('mints one admin token on the first start (one of N racing replicas) and shows it once', async () => {
    const prefix = uniquePrefix('boot');
    const redis = new Redis(redisUrl());
    try {
      const shown: string[] = [];
      const run = () => bootstrapAuth({ redis, prefix, creds: new CredentialStore(redis, prefix), projects: new ProjectStore(redis, prefix), announce: (m) => shown.push(m) });
      const results = await Promise.all([run(), run(), run(), run()]);
      expect(results.filter((r) => r.minted)).toHaveLength(1);
      expect(shown).toHaveLength(1);
      const token = /thk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(shown[0]!)![0];
      const admins = (await new CredentialStore(redis, prefix).list()).filter((c) => c.role === 'admin');
      expect(admins).toHaveLength(1);
      expect(await new CredentialStore(redis, prefix).verify(token)).toMatchObject({ role: 'admin', project: '*', owner: 'admin' });
      // A later start shows nothing; the "default" project is the admin's.
      expect((await run()).minted).toBe(false);
      expect(shown).toHaveLength(1);
      expect(await new ProjectStore(redis, prefix).roleOf('admin', 'default')).toBe('owner');
    } finally {
      redis.disconnect();
    }
  });

  it('a coordinator without TUNEHIVE_ADMIN_TOKEN prints its minted token, which works as admin', async () => {
    const shown: string[] = [];
    const stack = await startTestStack('boot-coord', { workers: 0, coordinator: { adminToken: undefined, announce: (m: string) => shown.push(m) } as never });
    try {
      const token = /thk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(shown.join('\n'))?.[0];
      expect(token).toBeDefined();
      const me = await call(stack.coordinator.httpUrl, 'GET', '/api/v1/whoami', { token: token! });
      expect(me.body).toMatchObject({ owner: 'admin', role: 'admin', admin: true });
      expect((await call(stack.coordinator.httpUrl, 'GET', '/api/v1/whoami', { token: TEST_ADMIN_TOKEN })).status).toBe(401);
    } finally {
      await stack.close();
    }
  });
});

describe('studies from before projects', () => {
  it('are adopted by the "default" project once, and listed there', async () => {
    const prefix = uniquePrefix('adopt');
    const redis = new Redis(redisUrl());
    try {
      const { RedisStudyStore } = await import('../../coordinator/store/study-store.js');
      const { parseStudySpec } = await import('../../shared/study-spec.js');
      const store = new RedisStudyStore(redis, prefix);
      const parsed = parseStudySpec({ name: 'old', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 2 });
      if (!parsed.ok) throw new Error('spec');
      const s = await store.createStudy(parsed.spec);
      // What an older version wrote: no project field, no project index.
      await redis.hdel(keys.study(prefix, s.id), 'project');
      await redis.del(keys.projectStudies(prefix, 'default'));
      expect((await store.listStudiesIn(['default'], 0, 10)).total).toBe(0);
      expect(await store.adoptLegacyStudies()).toBe(1);
      expect((await store.listStudiesIn(['default'], 0, 10)).studies.map((x) => x.id)).toEqual([s.id]);
      expect(await redis.hget(keys.study(prefix, s.id), 'project')).toBe('default');
      expect(await store.adoptLegacyStudies()).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('attack: an unauthenticated POST /api/v1/studies running `sh -c id` on the workers', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('auth-attack', { workers: 1 }); });
  afterAll(async () => stack?.close());

  it('is refused with 401, stores nothing and runs nothing; the same spec with a token does run', async () => {
    const { mkdtempSync, existsSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-attack-')), 'pwned');
    const spec = { name: 'attack', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 1,
      trial: { command: ['sh', '-c', `id > ${out}; echo score=1`] } };
    const base = stack.coordinator.httpUrl;
    for (const o of [{ token: null }, { token: 'thk_0123456789abcdef_' + 'B'.repeat(43) }, { authorization: basic('admin', 'password1234') }]) {
      const r = await call(base, 'POST', '/api/v1/studies', { ...o, body: spec });
      expect(r.status).toBe(401);
    }
    expect(await stack.coordinator.store.countStudies()).toBe(0);
    // The control: with a token the very same spec runs, so the refusal above is what stopped it.
    const ok = await call(base, 'POST', '/api/v1/studies', { body: spec });
    expect(ok.status).toBe(201);
    await stack.waitForStudy(ok.body.id);
    expect(existsSync(out)).toBe(true);
  });
});
