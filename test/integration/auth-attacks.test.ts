/**
 * Hostile review of issue 10, replayed over real HTTP against a real coordinator and Redis:
 * header smuggling, Basic variants, token and membership escalation, audit-log forgery and
 * flooding across projects, X-Forwarded-For against the failed-auth limit. Each test is named
 * after the attack it replays.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, userToken } from '../helpers/auth.js';
import { TEST_JOIN_TOKEN } from '../helpers/env.js';
import { clientWith, joinWith } from '../helpers/scripted-worker.js';

/** A raw request, so headers can be repeated or oversized as an attacker would send them. */
function raw(base: string, method: string, path: string, headers: Array<[string, string]>): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers: [['host', u.host], ...headers].flat() as unknown as http.OutgoingHttpHeaders }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('attacks on HTTP authentication (review 10)', () => {
  let stack: TestStack;
  let base: string;
  let alice: string;
  let aliceViewerA: { token: string; id: string };
  let mallory: string;
  beforeAll(async () => {
    stack = await startTestStack('auth-attacks', { workers: 0, coordinator: { authFailuresPerMinute: 1_000_000 } });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'victim');
    alice = (await userToken(base, 'alice', { victim: 'owner' })).token;
    aliceViewerA = await userToken(base, 'alice', {}, { tokenRole: 'viewer', tokenProject: 'victim' });
    // An outsider: an unrestricted editor token, member of nothing.
    mallory = (await userToken(base, 'mallory', {}, { tokenRole: 'editor' })).token;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('two Authorization headers, a bad one first or last, never authenticate', async () => {
    const bad = 'Bearer thk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    for (const pair of [[bad, `Bearer ${alice}`], [`Bearer ${alice}`, bad]]) {
      const r = await raw(base, 'GET', '/api/v1/whoami', pair.map((v) => ['authorization', v] as [string, string]));
      // Node keeps the first Authorization header: a request authenticates as at most one token.
      if (r.status === 200) expect(JSON.parse(r.body).owner).toBe('alice');
      else expect(r.status).toBe(401);
    }
    const folded = await raw(base, 'GET', '/api/v1/whoami', [['authorization', `${bad}, Bearer ${alice}`]]);
    expect(folded.status).toBe(401);
  });

  it('odd casing, Basic variants and a huge header', async () => {
    expect((await raw(base, 'GET', '/api/v1/whoami', [['AUTHORIZATION', `bEaReR ${alice}`]])).status).toBe(200);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect((await raw(base, 'GET', '/api/v1/whoami', [['authorization', `Basic ${b64(':')}`]])).status).toBe(401);
    expect((await raw(base, 'GET', '/api/v1/whoami', [['authorization', 'Basic !!!notbase64']])).status).toBe(401);
    expect((await raw(base, 'GET', '/api/v1/whoami', [['authorization', `Basic ${b64(`${alice}:wrong`)}`]])).status).toBe(200);
    // A Tunehive-shaped user name and a wrong token-shaped password: the user name is not taken on trust.
    const other = 'thk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    expect((await raw(base, 'GET', '/api/v1/whoami', [['authorization', `Basic ${b64(`${alice}:${other}`)}`]])).status).toBe(401);
    const huge = await raw(base, 'GET', '/api/v1/whoami', [['authorization', `Bearer ${'A'.repeat(12_000)}`]]);
    expect([401, 431]).toContain(huge.status);
  });

  it('token escalation: a project-limited viewer token mints no more than it has', async () => {
    const v = aliceViewerA.token;
    expect((await call(base, 'POST', '/api/v1/tokens', { token: v, body: { role: 'editor' } })).status).toBe(403);
    expect((await call(base, 'POST', '/api/v1/tokens', { token: v, body: { project: '*' } })).status).toBe(403);
    expect((await call(base, 'POST', '/api/v1/tokens', { token: v, body: { kind: 'worker-join', projects: ['victim'] } })).status).toBe(403);
    expect((await call(base, 'POST', '/api/v1/tokens', { token: v, body: { kind: 'worker-join', projects: ['*'] } })).status).toBe(403);
    expect((await call(base, 'POST', '/api/v1/tokens', { token: v, body: { owner: 'admin' } })).status).toBe(403);
    expect((await call(base, 'POST', '/api/v1/tokens', { token: v, body: { scopes: ['metrics'] } })).status).toBe(403);
    const short = (await userToken(base, 'alice', {}, { ttl: '1h' })).token;
    expect((await call(base, 'POST', '/api/v1/tokens', { token: short, body: { ttl: '2h' } })).status).toBe(403);
    const child = await call(base, 'POST', '/api/v1/tokens', { token: short, body: {} });
    expect(Date.parse(child.body.expiresAt)).toBeLessThanOrEqual(Date.now() + 3_600_000);
    // An outsider's worker-join token for a project it is no member of: answered like an unknown project.
    expect((await call(base, 'POST', '/api/v1/tokens', { token: mallory, body: { kind: 'worker-join', projects: ['victim'] } })).status).toBe(404);
  });

  it('a project-limited viewer token neither lists nor revokes its owner\'s stronger tokens (it may revoke itself)', async () => {
    const strong = await userToken(base, 'alice', {}, { tokenRole: 'owner', tokenProject: '*' });
    const weak = await userToken(base, 'alice', {}, { tokenRole: 'viewer', tokenProject: 'victim' });
    const listed = await call(base, 'GET', '/api/v1/tokens', { token: weak.token });
    expect(listed.status).toBe(200);
    expect(listed.body.tokens.map((t: any) => t.id)).not.toContain(strong.id);
    expect(listed.body.tokens.every((t: any) => t.project === 'victim' && t.role === 'viewer')).toBe(true);
    expect((await call(base, 'DELETE', `/api/v1/tokens/${strong.id}`, { token: weak.token })).status).toBe(404);
    expect((await call(base, 'GET', '/api/v1/whoami', { token: strong.token })).status).toBe(200);
    // The strong token manages the weak one, and a token may always revoke itself.
    expect((await call(base, 'GET', '/api/v1/tokens', { token: strong.token })).body.tokens.map((t: any) => t.id)).toContain(weak.id);
    expect((await call(base, 'DELETE', `/api/v1/tokens/${weak.id}`, { token: weak.token })).status).toBe(200);
  });

  it('a worker that joins under a user\'s name: its credential is neither listed to nor revocable by that user', async () => {
    const c = clientWith(stack.coordinator.grpcAddress);
    const joined = await joinWith(c, { joinToken: TEST_JOIN_TOKEN, workerId: 'mallory' });
    c.close();
    expect(joined.workerId).toBe('mallory');
    const listed = await call(base, 'GET', '/api/v1/tokens', { token: mallory });
    expect(listed.body.tokens.filter((t: any) => t.kind === 'worker')).toEqual([]);
    const credId = joined.credential.split('_')[1];
    expect((await call(base, 'DELETE', `/api/v1/tokens/${credId}`, { token: mallory })).status).toBe(404);
  });

  it('membership escalation: an editor cannot make itself owner; the last owner cannot be removed or demoted', async () => {
    expect((await call(base, 'POST', '/api/v1/projects', { token: alice, body: { name: 'alices' } })).status).toBe(201);
    expect((await call(base, 'PUT', '/api/v1/projects/alices/members/eddie', { token: alice, body: { role: 'editor' } })).status).toBe(200);
    const ed = (await userToken(base, 'eddie', {})).token;
    expect((await call(base, 'PUT', '/api/v1/projects/alices/members/eddie', { token: ed, body: { role: 'owner' } })).status).toBe(403);
    expect((await call(base, 'DELETE', '/api/v1/projects/alices/members/alice', { token: ed })).status).toBe(403);
    expect((await call(base, 'DELETE', '/api/v1/projects/alices/members/alice', { token: alice })).status).toBe(409);
    expect((await call(base, 'PUT', '/api/v1/projects/alices/members/alice', { token: alice, body: { role: 'viewer' } })).status).toBe(409);
  });

  it('audit flood: an outsider creating a taken project name writes nothing into that project\'s audit log', async () => {
    const before = await call(base, 'GET', '/api/v1/audit?project=victim&limit=1000', { token: alice });
    expect(before.status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await call(base, 'POST', '/api/v1/projects', { token: mallory, body: { name: 'victim' } })).status).toBe(409);
    const after = await call(base, 'GET', '/api/v1/audit?project=victim&limit=1000', { token: alice });
    expect(after.body.entries.filter((e: any) => e.owner === 'mallory')).toEqual([]);
    expect(after.body.entries.length).toBe(before.body.entries.length);
    // The admin's log still has every attempt.
    const all = await call(base, 'GET', '/api/v1/audit?limit=1000');
    expect(all.body.entries.filter((e: any) => e.owner === 'mallory' && e.route === '/api/v1/projects' && e.status === 409).length).toBeGreaterThanOrEqual(5);
  });

  it('audit forgery: X-Forwarded-For does not change the recorded address', async () => {
    const r = await fetch(`${base}/api/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${mallory}`, 'content-type': 'application/json', 'x-forwarded-for': '10.6.6.6' }, body: JSON.stringify({ name: 'mallorys' }) });
    expect(r.status).toBe(201);
    const all = await call(base, 'GET', '/api/v1/audit?limit=20');
    const e = all.body.entries.find((x: any) => x.owner === 'mallory' && x.target?.name === undefined && x.project === 'mallorys');
    expect(e.ip).not.toBe('10.6.6.6');
  });

  it('lists leak nothing of another project: tokens, projects, studies, audit; /metrics, /docs and the OpenAPI document need a token', async () => {
    const mine = await call(base, 'GET', '/api/v1/tokens?owner=alice', { token: mallory });
    expect(mine.body.tokens.every((t: any) => t.owner === 'mallory')).toBe(true);
    expect((await call(base, 'GET', '/api/v1/projects', { token: mallory })).body.projects.map((p: any) => p.name)).not.toContain('victim');
    expect((await call(base, 'GET', '/api/v1/studies?project=victim', { token: mallory })).body.total).toBe(0);
    const unknown = await call(base, 'GET', '/api/v1/audit?project=nonexistent', { token: mallory });
    const hidden = await call(base, 'GET', '/api/v1/audit?project=victim', { token: mallory });
    expect(hidden.status).toBe(unknown.status);
    expect(hidden.body.error.code).toBe(unknown.body.error.code);
    expect((await call(base, 'GET', '/metrics', { token: mallory })).status).toBe(403);
    for (const url of ['/metrics', '/docs', '/docs/static/index.html', '/api/v1/openapi.json', '/docs/json']) expect((await call(base, 'GET', url, { token: null })).status, url).toBe(401);
  });
});

describe('attacks on the failed-auth rate limit (review 10)', () => {
  let stack: TestStack;
  let minted: string;
  beforeAll(async () => {
    stack = await startTestStack('auth-attacks-rate', { workers: 0, coordinator: { authFailuresPerMinute: 3 } });
    minted = (await call(stack.coordinator.httpUrl, 'POST', '/api/v1/tokens', { body: {} })).body.token;
  });
  afterAll(async () => { await stack?.close(); });

  it('X-Forwarded-For does not buy a fresh failure budget', async () => {
    const base = stack.coordinator.httpUrl;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${base}/api/v1/whoami`, { headers: { authorization: 'Bearer nope-nope-nope', 'x-forwarded-for': `10.0.0.${i}`, 'x-real-ip': `10.0.1.${i}` } });
      statuses.push(r.status);
    }
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });

  it('guessing an operator secret past the budget: the right secret is answered 429 too (no oracle), minted tokens still work', async () => {
    const base = stack.coordinator.httpUrl;
    // The address is over its budget (the test above); an attacker's next guess is the right one.
    for (let i = 0; i < 3; i++) await fetch(`${base}/api/v1/whoami`, { headers: { authorization: `Bearer guess-${i}-xxxxxxxxxxxxxxxx` } });
    const right = await fetch(`${base}/api/v1/whoami`, { headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' } });
    expect(right.status).toBe(429);
    const basic = await fetch(`${base}/api/v1/whoami`, { headers: { authorization: `Basic ${Buffer.from(':test-admin-token-0123456789abcdef').toString('base64')}` } });
    expect(basic.status).toBe(429);
    // 256 random bits cannot be guessed: a minted token keeps working from the same address.
    expect((await fetch(`${base}/api/v1/whoami`, { headers: { authorization: `Bearer ${minted}` } })).status).toBe(200);
  });
});
