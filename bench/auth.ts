/**
 * The cost of authentication per request: requests/s of GET /api/v1/studies/:id on one
 * coordinator with auth (admin token, and a project viewer's token, whose membership is read
 * from Redis on every request), and on an app built without auth (a benchmark-only option of
 * buildApp that the composition root never sets), in the same run, against the same Redis and
 * study. Rounds alternate between the variants so drift hits them alike.
 *
 *   npm run bench:auth [-- --seconds 3 --rounds 3 --concurrency 16]
 *
 * Runs its own redis-server on a free port (nothing else is touched).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { httpRequest } from './http-request.js';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startLocalRedis } from '../cli/local-redis.js';
import { startCoordinator } from '../coordinator/main.js';
import { buildApp } from '../coordinator/api/app.js';
import { WorkerDirectory } from '../coordinator/store/worker-directory.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '16' } } });
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);

const ADMIN = randomBytes(24).toString('hex');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-auth-'));
const redis = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
process.on('exit', () => redis.process.kill('SIGKILL'));
const log = pino({ level: 'silent' });
const c = await startCoordinator({ redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix: 'bench', log, reconcileIntervalMs: 600_000,
  checkpointDir: path.join(dir, 'ckpt'), adminToken: ADMIN });
const plain = await buildApp({ store: c.store, runner: c.runner, workers: new WorkerDirectory(c.store.redis, 'bench'), log, auth: 'disabled-for-benchmark' });
await plain.listen({ host: '127.0.0.1', port: 0 });
const plainUrl = `http://127.0.0.1:${(plain.server.address() as { port: number }).port}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

const request = (base: string, method: string, url: string, token?: string, body?: unknown) =>
  httpRequest(agent, base, method, url, { ...(token ? { token } : {}), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

async function json(base: string, method: string, url: string, token: string, body?: unknown): Promise<any> {
  const r = await request(base, method, url, token, body);
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

/** Requests/s over `SECONDS` with CONCURRENCY requests in flight; every answer must be a 200. */
async function load(base: string, url: string, token?: string): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const r = await request(base, 'GET', url, token);
      if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.text.slice(0, 200)}`);
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  await json(c.httpUrl, 'POST', '/api/v1/projects', ADMIN, { name: 'bench' });
  await json(c.httpUrl, 'PUT', '/api/v1/projects/bench/members/viewer', ADMIN, { role: 'viewer' });
  const viewer = (await json(c.httpUrl, 'POST', '/api/v1/tokens', ADMIN, { owner: 'viewer', role: 'viewer' })).token as string;
  const study = await json(c.httpUrl, 'POST', '/api/v1/studies', ADMIN, {
    name: 'bench-auth', project: 'bench', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 10 });
  const url = `/api/v1/studies/${study.id}`;
  const variants: Array<[string, string, string | undefined]> = [['no auth', plainUrl, undefined], ['auth: admin token', c.httpUrl, ADMIN], ['auth: project viewer token', c.httpUrl, viewer]];
  // Warm-up: JIT, connections, the token cache.
  for (const [, base, token] of variants) await load(base, url, token);
  const runs = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, base, token] of [...variants.slice(r % 3), ...variants.slice(0, r % 3)]) runs.get(name)!.push(await load(base, url, token));
  }
  const baseRps = median(runs.get('no auth')!);
  console.log(`GET /api/v1/studies/:id, ${CONCURRENCY} in flight, ${ROUNDS} rounds of ${SECONDS} s each (median), node ${process.version}, ${os.cpus().length} CPUs`);
  console.log(`${'variant'.padEnd(28)} ${'req/s'.padStart(8)} ${'µs/req'.padStart(8)} ${'auth cost µs/req'.padStart(17)}`);
  for (const [name] of variants) {
    const rps = median(runs.get(name)!);
    const cost = 1e6 / rps - 1e6 / baseRps;
    console.log(`${name.padEnd(28)} ${rps.toFixed(0).padStart(8)} ${(1e6 / rps).toFixed(1).padStart(8)} ${name === 'no auth' ? '-'.padStart(17) : cost.toFixed(1).padStart(17)}   (rounds: ${runs.get(name)!.map((x) => x.toFixed(0)).join(', ')})`);
  }
  // The same without sockets or concurrency: sequential app.inject() in alternating batches,
  // the median batch per variant; less sensitive to other load on the machine than req/s.
  const apps = [['no auth', plain, undefined], ['auth: admin token', c.app, ADMIN], ['auth: project viewer token', c.app, viewer]] as const;
  const batches = new Map<string, number[]>(apps.map(([name]) => [name, []]));
  for (let r = 0; r < 40; r++) {
    // Each round in another order, so no variant always follows the same one.
    for (const [name, app, token] of [...apps.slice(r % 3), ...apps.slice(0, r % 3)]) {
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) {
        const res = await app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });
        if (res.statusCode !== 200) throw new Error(`inject ${name}: ${res.statusCode}`);
      }
      batches.get(name)!.push(((performance.now() - t0) * 1000) / 100);
    }
  }
  const plainUs = median(batches.get('no auth')!);
  console.log(`\nsequential app.inject(), 40 alternating batches of 100 (median batch):`);
  for (const [name] of apps) {
    const us = median(batches.get(name)!);
    console.log(`${name.padEnd(28)} ${us.toFixed(1).padStart(8)} µs/req ${name === 'no auth' ? '' : `  auth cost ${(us - plainUs).toFixed(1)} µs/req`}`);
  }
} finally {
  agent.destroy();
  await plain.close();
  await c.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
