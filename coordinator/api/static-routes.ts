/**
 * The dashboard (issue 13): the built browser app (dist/web, `npm run build`) at `/`. Assets are
 * public (the login page must load before a session exists; they hold no data); every API call
 * the app makes is authenticated as usual. The app's own paths answer index.html (the SPA
 * fallback); /api, /docs and /metrics are untouched, and an unknown path stays a JSON 404.
 * Scripts come from /assets only, so the CSP keeps `script-src 'self'`.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_PATHS } from '../../shared/dashboard-paths.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** dist/web next to the sources (tsx) or next to the compiled coordinator (dist/coordinator). */
export function webRoot(): string | undefined {
  for (const p of [path.resolve(HERE, '../../dist/web'), path.resolve(HERE, '../../web')]) {
    if (existsSync(path.join(p, 'index.html')) && existsSync(path.join(p, 'assets'))) return p;
  }
  return undefined;
}

const PUBLIC = { auth: { public: true as const } };

export async function staticRoutes(app: FastifyInstance, opts: { root?: string } = {}): Promise<void> {
  const root = opts.root ?? webRoot();
  if (!root) {
    app.log.warn('dashboard not built (run `npm run build`): / answers 503');
    for (const p of APP_PATHS) {
      app.get(p, { schema: { hide: true }, config: PUBLIC }, async (_req, reply) => reply.status(503).type('text/plain')
        .send('The Tunehive dashboard is not built: run `npm run build` (the API at /api/v1 works without it).\n'));
    }
    return;
  }
  // @fastify/static declares its route without our config: the assets are public like the pages.
  app.addHook('onRoute', (r) => {
    if (r.url.startsWith('/assets/')) r.config = { ...(r.config as object), auth: { public: true } } as typeof r.config;
  });
  await app.register(fastifyStatic, {
    root: path.join(root, 'assets'), prefix: '/assets/', schemaHide: true, index: false, wildcard: true,
    // Bundles are rebuilt in place under the same names: revalidate, and 304s keep it cheap.
    cacheControl: true, maxAge: 0, etag: true, lastModified: true,
  });
  for (const p of APP_PATHS) {
    app.get(p, { schema: { hide: true }, config: PUBLIC }, async (_req, reply) => {
      void reply.header('cache-control', 'no-cache');
      return reply.sendFile('index.html', root);
    });
  }
}
