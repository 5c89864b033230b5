/**
 * Dashboard sessions over real HTTP on a real coordinator and Redis: login sets an HttpOnly,
 * SameSite=Strict cookie (Secure over HTTPS), the cookie authenticates reads, writes need the
 * CSRF header, logout and revocation end the session, a header always wins over the cookie, and
 * wrong login tokens are counted by the failure limiter.
 */
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, userToken } from '../helpers/auth.js';
import { TEST_ADMIN_TOKEN, waitFor } from '../helpers/env.js';
import { testCertificate } from '../helpers/tls.js';
import { keys } from '../../shared/redis-keys.js';

interface Raw { status: number; body: any; setCookie: string[]; headers: Headers }

async function raw(base: string, method: string, url: string, o: { cookie?: string; csrf?: string; body?: unknown; authorization?: string; headers?: Record<string, string> } = {}): Promise<Raw> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-tunehive-csrf'] = o.csrf;
  if (o.authorization) headers.authorization = o.authorization;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${url}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  let body: any = text;
  try { body = JSON.parse(text); } catch { /* empty or not JSON */ }
  return { status: res.status, body, setCookie: res.headers.getSetCookie(), headers: res.headers };
}

const cookieOf = (setCookie: string[]) => setCookie.find((c) => c.startsWith('th_session='))!.split(';')[0]!;

describe('dashboard sessions (POST/DELETE /api/v1/session, GET /api/v1/whoami)', () => {
  let stack: TestStack;
  let base: string;
  let alice: { token: string; id: string };

  beforeAll(async () => {
    stack = await startTestStack('session', { workers: 0, coordinator: { authFailuresPerMinute: 5, tokenCacheMs: 0 } });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'sess-a');
    alice = await userToken(base, 'alice', { 'sess-a': 'editor' });
  });
  afterAll(async () => stack?.close());

  it('logs in: the cookie is HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP, and the session lives in Redis with a TTL', async () => {
    const r = await raw(base, 'POST', '/api/v1/session', { body: { token: alice.token } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ owner: 'alice', admin: false, csrf: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/) });
    const set = r.setCookie.find((c) => c.startsWith('th_session='))!;
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(/; Path=\//);
    expect(set).not.toMatch(/Secure/);
    // The token itself is nowhere in the cookie.
    // (Its last 20 characters, the secret: split('_') broke on a secret holding '_' and asked for '', which every string contains.)
    expect(set).not.toContain(alice.token.slice(-20));
    const sessions = await stack.coordinator.store.redis.keys(keys.session(stack.prefix, '*'));
    expect(sessions).toHaveLength(1);
    const ttl = await stack.coordinator.store.redis.pttl(sessions[0]!);
    expect(ttl).toBeGreaterThan(11 * 3_600_000);
    expect(await stack.coordinator.store.redis.hget(sessions[0]!, 'credentialId')).toBe(alice.id);
    // The login is in the audit log, by its owner (written once the answer is sent: waited for).
    const logged = /"owner":"alice"[^}]*"route":"\/api\/v1\/session"|"route":"\/api\/v1\/session"[^}]*"owner":"alice"/;
    await waitFor(async () => logged.test(JSON.stringify((await call(base, 'GET', '/api/v1/audit')).body)) || undefined, 10_000, 'the login in the audit log');
  });

  it('the cookie authenticates reads (whoami says via cookie, with projects and the CSRF token); writes need the CSRF header', async () => {
    const login = await raw(base, 'POST', '/api/v1/session', { body: { token: alice.token } });
    const cookie = cookieOf(login.setCookie);
    // Sliding: a session about to expire is renewed to the full TTL by its next use.
    const [key] = await stack.coordinator.store.redis.keys(keys.session(stack.prefix, '*')).then((ks) => Promise.all(ks.map(async (k) => [k, await stack.coordinator.store.redis.hget(k, 'csrf')] as const)))
      .then((pairs) => pairs.filter(([, c]) => c === login.body.csrf).map(([k]) => k));
    await stack.coordinator.store.redis.pexpire(key!, 5000);
    const who = await raw(base, 'GET', '/api/v1/whoami', { cookie });
    expect(who.status).toBe(200);
    expect(await stack.coordinator.store.redis.pttl(key!)).toBeGreaterThan(11 * 3_600_000);
    expect(who.body).toMatchObject({ owner: 'alice', admin: false, via: 'cookie', projects: [{ name: 'sess-a', role: 'editor' }], scopes: [], csrf: login.body.csrf });
    const spec = { name: 'by-cookie', project: 'sess-a', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 3 };
    const noCsrf = await raw(base, 'POST', '/api/v1/studies', { cookie, body: spec });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('TH_ERR_AUTH_CSRF');
    expect(noCsrf.body.error.fields[0].field).toBe('headers.x-tunehive-csrf');
    const wrongCsrf = await raw(base, 'POST', '/api/v1/studies', { cookie, csrf: 'x'.repeat(login.body.csrf.length), body: spec });
    expect(wrongCsrf.status).toBe(403);
    // Nothing was created by the refused writes.
    expect((await stack.coordinator.store.listStudiesIn(['sess-a'], 0, 10)).total).toBe(0);
    const ok = await raw(base, 'POST', '/api/v1/studies', { cookie, csrf: login.body.csrf, body: spec });
    expect(ok.status).toBe(201);
  });

  it('whoami with a header says via header; a header wins over the cookie (and a bad header is not rescued by a good cookie)', async () => {
    const login = await raw(base, 'POST', '/api/v1/session', { body: { token: alice.token } });
    const cookie = cookieOf(login.setCookie);
    const admin = await raw(base, 'GET', '/api/v1/whoami', { cookie, authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ admin: true, via: 'header' });
    expect(admin.body.csrf).toBeUndefined();
    const bad = await raw(base, 'GET', '/api/v1/whoami', { cookie, authorization: 'Bearer thk_0123456789abcdef_' + 'A'.repeat(43) });
    expect(bad.status).toBe(401);
    // A header-authenticated write needs no CSRF token even when a cookie is sent along.
    const w = await raw(base, 'POST', '/api/v1/projects', { cookie, authorization: `Bearer ${TEST_ADMIN_TOKEN}`, body: { name: 'sess-hdr' } });
    expect(w.status).toBe(201);
  });

  it('logout deletes the session and clears the cookie; the old cookie is refused after', async () => {
    const login = await raw(base, 'POST', '/api/v1/session', { body: { token: alice.token } });
    const cookie = cookieOf(login.setCookie);
    const refused = await raw(base, 'DELETE', '/api/v1/session', { cookie });
    expect(refused.status).toBe(403);
    expect((await raw(base, 'GET', '/api/v1/whoami', { cookie })).status).toBe(200);
    const out = await raw(base, 'DELETE', '/api/v1/session', { cookie, csrf: login.body.csrf });
    expect(out.status).toBe(204);
    expect(out.setCookie[0]).toMatch(/^th_session=; .*Max-Age=0/);
    const after = await raw(base, 'GET', '/api/v1/whoami', { cookie });
    expect(after.status).toBe(401);
    expect(after.body.error.fields[0].field).toBe('cookies.th_session');
    // A page's fetch gets no Basic challenge (a browser would show its own password dialog).
    const page = await raw(base, 'GET', '/api/v1/whoami', { cookie, headers: { 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' } });
    expect((await raw(base, 'GET', '/api/v1/whoami', { cookie })).headers.get('www-authenticate')).toContain('Basic realm');
    expect(page.headers.get('www-authenticate')).toBe('Bearer realm="tunehive"');
  });

  it('logging in again from a browser that holds a session ends that session (the replaced cookie is refused after)', async () => {
    const first = await raw(base, 'POST', '/api/v1/session', { body: { token: alice.token } });
    const old = cookieOf(first.setCookie);
    const again = await raw(base, 'POST', '/api/v1/session', { cookie: old, body: { token: alice.token } });
    expect(again.status).toBe(200);
    const fresh = cookieOf(again.setCookie);
    expect(fresh).not.toBe(old);
    expect((await raw(base, 'GET', '/api/v1/whoami', { cookie: fresh })).status).toBe(200);
    expect((await raw(base, 'GET', '/api/v1/whoami', { cookie: old })).status).toBe(401);
  });

  it('a revoked token ends its sessions at the next request, and the session key goes', async () => {
    const bob = await userToken(base, 'bob', { 'sess-a': 'viewer' });
    const login = await raw(base, 'POST', '/api/v1/session', { body: { token: bob.token } });
    const cookie = cookieOf(login.setCookie);
    expect((await raw(base, 'GET', '/api/v1/whoami', { cookie })).status).toBe(200);
    const before = await stack.coordinator.store.redis.keys(keys.session(stack.prefix, '*'));
    expect((await call(base, 'DELETE', `/api/v1/tokens/${bob.id}`)).status).toBeLessThan(300);
    const r = await raw(base, 'GET', '/api/v1/whoami', { cookie });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('TH_ERR_AUTH_INVALID');
    const after = await stack.coordinator.store.redis.keys(keys.session(stack.prefix, '*'));
    expect(after.length).toBe(before.length - 1);
  });

  it('a malformed or unknown cookie is a 401, never a crash; a bad body names the field', async () => {
    for (const cookie of ['th_session=', 'th_session=abc', `th_session=${'A'.repeat(43)}`, 'other=1; th_session=%00%ff']) {
      const r = await raw(base, 'GET', '/api/v1/whoami', { cookie });
      expect(r.status, cookie).toBe(401);
    }
    const missing = await raw(base, 'POST', '/api/v1/session', { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields[0].field).toBe('token');
  });

  it('wrong login tokens are counted by the failure limiter (429 past the budget), and a worker join token cannot log in', async () => {
    const limited = await startTestStack('session-limit', { workers: 0, coordinator: { authFailuresPerMinute: 3 } });
    try {
      const b = limited.coordinator.httpUrl;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await raw(b, 'POST', '/api/v1/session', { body: { token: `wrong-secret-${i}-0000000000` } })).status);
      expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
      expect(statuses.at(-1)).toBe(429);
      // Past the budget, the operator's (short, not minted-shaped) admin secret is refused unchecked too: no oracle.
      expect((await raw(b, 'POST', '/api/v1/session', { body: { token: TEST_ADMIN_TOKEN } })).status).toBe(429);
    } finally {
      await limited.close();
    }
    const join = await call(base, 'POST', '/api/v1/tokens', { body: { kind: 'worker-join' } });
    expect(join.status).toBe(201);
    const r = await raw(base, 'POST', '/api/v1/session', { body: { token: join.body.token } });
    expect(r.status).toBe(401);
    expect(r.body.error.fields[0].field).toBe('token');
  });

  it('over HTTPS the cookie is Secure', async () => {
    const cert = await testCertificate();
    const tls = await startTestStack('session-tls', { workers: 0, coordinator: { tls: { cert: cert.cert, key: cert.key } } });
    try {
      const setCookie = await new Promise<string[]>((resolve, reject) => {
        const req = https.request(`${tls.coordinator.httpUrl}/api/v1/session`, { method: 'POST', ca: cert.cert, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve((res.headers['set-cookie'] ?? []) as string[]));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ token: TEST_ADMIN_TOKEN }));
      });
      const c = setCookie.find((x) => x.startsWith('th_session='))!;
      expect(c).toMatch(/; Secure/);
      expect(c).toMatch(/; HttpOnly/);
      expect(c).toMatch(/; SameSite=Strict/);
    } finally {
      await tls.close();
    }
  });


});
