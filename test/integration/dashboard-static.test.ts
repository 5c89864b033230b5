/**
 * The dashboard's serving (issue 13): the built app at / and its paths (SPA fallback), public
 * assets under the same CSP (script-src 'self', no inline scripts), and no change to what the
 * API, the docs and unknown paths answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { ensureWebBuild, WEB_OUT } from '../../web/build.js';

describe('dashboard serving', () => {
  let stack: TestStack;
  let base: string;
  beforeAll(async () => {
    await ensureWebBuild();
    stack = await startTestStack('dash-static', { workers: 0 });
    base = stack.coordinator.httpUrl;
  });
  afterAll(async () => stack?.close());

  it('answers index.html at / and at every app path, without a token, with the strict CSP', async () => {
    for (const p of ['/', '/login', '/studies/abc123', '/runs/abc123.4', '/workers', '/models', '/models/m1']) {
      const r = await fetch(base + p);
      expect(r.status, p).toBe(200);
      expect(r.headers.get('content-type'), p).toMatch(/^text\/html/);
      const html = await r.text();
      expect(html).toContain('<script type="module" src="/assets/app.js"></script>');
      // No inline script: every <script> has a src.
      expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g), p).toBeNull();
      const csp = r.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    }
  });

  it('serves the built bundle byte for byte, publicly', async () => {
    const r = await fetch(`${base}/assets/app.js`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/javascript/);
    expect(Buffer.from(await r.arrayBuffer()).equals(readFileSync(path.join(WEB_OUT, 'assets/app.js')))).toBe(true);
    expect((await fetch(`${base}/assets/app.css`)).status).toBe(200);
    // Escaping the assets folder reads nothing.
    const escape = await fetch(`${base}/assets/%2e%2e/%2e%2e/package.json`);
    expect(escape.status).toBeGreaterThanOrEqual(400);
    expect(await escape.text()).not.toContain('"tunehive"');
  });

  it('leaves the API, the docs and unknown paths as they were', async () => {
    const api = await fetch(`${base}/api/v1/studies`);
    expect(api.status).toBe(401);
    expect((await api.json()).error.code).toBe('TH_ERR_AUTH_MISSING');
    // An unknown path needs a token as before (no catch-all), then is a JSON 404.
    expect((await fetch(`${base}/no/such/page`)).status).toBe(401);
    const unknown = await stack.api('GET', '/no/such/page');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TH_ERR_NOT_FOUND');
    expect((await fetch(`${base}/api/v1/no-route`)).status).toBe(401);
    expect((await fetch(`${base}/docs`)).status).toBe(401);
    expect((await fetch(`${base}/assets/nope.js`)).status).toBe(404);
  });
});
