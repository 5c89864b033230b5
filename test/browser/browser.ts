/**
 * Browser-test plumbing: Debian's chromium driven by playwright-core (CHROMIUM_PATH, else found
 * on PATH), the screenshot folder, and a pixel check that a plot drew something.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const SCREENSHOTS = path.resolve('test-output/screenshots');

export function chromiumPath(): string {
  const env = process.env.CHROMIUM_PATH;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROMIUM_PATH=${env} does not exist`);
    return env;
  }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try { return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim(); } catch { /* next */ }
  }
  throw new Error('no chromium: install it (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH');
}

export async function launch(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // --no-sandbox: CI runs as root in a container, where chromium's sandbox cannot start.
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * How many coloured pixels each plot on the page has: data marks (axes, grid and labels are grey,
 * so an empty chart counts 0). A plot is a canvas, or a uPlot div holding one.
 */
export async function plotPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-plot]'))) {
      const c = el instanceof HTMLCanvasElement ? el : el.querySelector('canvas');
      let n = 0;
      if (c && c.width > 0 && c.height > 0) {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!) > 40) n++;
      }
      out[el.dataset.plot!] = n;
    }
    return out;
  });
}

export async function rowCount(page: Page): Promise<number> {
  const t = await page.getByTestId('row-count').textContent();
  return Number(/(\d+)/.exec(t ?? '')?.[1] ?? NaN);
}

/**
 * A reverse proxy doing single sign-on, as in front of a real deployment: it adds the user's
 * Authorization header to every request (page loads, API calls, event streams, downloads alike).
 */
export async function ssoProxy(target: string, token: string): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer, request } = await import('node:http');
  const t = new URL(target);
  const server = createServer((req, res) => {
    const up = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: { ...req.headers, host: t.host, authorization: `Bearer ${token}` } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
