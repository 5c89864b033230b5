/**
 * MLflow log-batch throughput: 8 concurrent clients (default), each posting
 * `POST /api/2.0/mlflow/runs/log-batch` with 100 metrics per call to a run of its own (a fresh
 * run before its 100,000-point cap), against one coordinator with auth on. Beside it, in the same
 * run and alternating rounds, the ceiling: an authenticated no-op POST route taking the same body
 * (token check, JSON parse of the same bytes, audit entry; no MLflow work), served by an app with
 * the same auth in the same process. Prints requests/s, points/s and p50/p99 latency.
 *
 *   npm run bench:mlflow [-- --seconds 5 --rounds 3 --clients 8 --metrics 100]
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
import { TokenVerifier } from '../coordinator/auth/principal.js';
import { Access } from '../coordinator/auth/access.js';
import { AuditLog } from '../coordinator/auth/audit-log.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, clients: { type: 'string', default: '8' }, metrics: { type: 'string', default: '100' } } });
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CLIENTS = Number(values.clients);
const METRICS = Number(values.metrics);
const RUN_POINTS = 99_000;

const ADMIN = randomBytes(24).toString('hex');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-mlflow-'));
const redis = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
process.on('exit', () => redis.process.kill('SIGKILL'));
const log = pino({ level: 'silent' });
const c = await startCoordinator({ redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix: 'bench', log, reconcileIntervalMs: 600_000,
  checkpointDir: path.join(dir, 'ckpt'), adminToken: ADMIN });
// The ceiling: the same auth (tokens, projects, audit on the same Redis), a route that does nothing.
const auth = { creds: c.creds, projects: c.projects, verifier: new TokenVerifier(c.creds), access: new Access(c.projects), audit: new AuditLog(c.store.redis, 'bench') };
const noop = await buildApp({ store: c.store, runner: c.runner, workers: new WorkerDirectory(c.store.redis, 'bench'), log, auth,
  plugins: [(a) => { a.post('/noop', { config: { auth: { token: true } } }, async () => ({})); }] });
await noop.listen({ host: '127.0.0.1', port: 0 });
const noopUrl = `http://127.0.0.1:${(noop.server.address() as { port: number }).port}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

const request = (base: string, method: string, url: string, body?: string) => httpRequest(agent, base, method, url, { token: ADMIN, ...(body !== undefined ? { body } : {}) });

async function json(method: string, url: string, body: unknown): Promise<any> {
  const r = await request(c.httpUrl, method, url, JSON.stringify(body));
  if (r.status !== 200) throw new Error(`${method} ${url}: ${r.status} ${r.text.slice(0, 300)}`);
  return JSON.parse(r.text);
}

await json('POST', '/api/v1/projects', { name: 'default' }).catch(() => undefined);
const experimentId = (await json('POST', '/api/2.0/mlflow/experiments/create', { name: 'bench-log-batch' })).experiment_id as string;
const newRun = async () => (await json('POST', '/api/2.0/mlflow/runs/create', { experiment_id: experimentId })).run.info.run_id as string;

/** One client's state: its run and how many points that run holds. */
interface Client { runId: string; points: number; step: number }
const clients: Client[] = [];
for (let i = 0; i < CLIENTS; i++) clients.push({ runId: await newRun(), points: 0, step: 0 });

function batchBody(cl: Client): string {
  const now = Date.now();
  const metrics = Array.from({ length: METRICS }, (_, k) => ({ key: `m${k % 10}`, value: Math.random(), timestamp: now, step: cl.step }));
  cl.step++;
  return JSON.stringify({ run_id: cl.runId, metrics });
}

interface Result { rps: number; pointsPerS: number; p50: number; p99: number }
async function load(variant: 'log-batch' | 'noop'): Promise<Result> {
  const end = performance.now() + SECONDS * 1000;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(clients.map(async (cl) => {
    while (performance.now() < end) {
      if (variant === 'log-batch' && cl.points + METRICS > RUN_POINTS) {
        cl.runId = await newRun();
        cl.points = 0;
      }
      const body = batchBody(cl);
      const s = performance.now();
      const r = variant === 'noop' ? await request(noopUrl, 'POST', '/noop', body) : await request(c.httpUrl, 'POST', '/api/2.0/mlflow/runs/log-batch', body);
      lat.push(performance.now() - s);
      if (r.status !== 200) throw new Error(`${variant}: ${r.status} ${r.text.slice(0, 300)}`);
      if (variant === 'log-batch') cl.points += METRICS;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!;
  return { rps: lat.length / secs, pointsPerS: variant === 'noop' ? 0 : (lat.length * METRICS) / secs, p50: q(0.5), p99: q(0.99) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  // Warm-up: JIT, connections, the token cache.
  await load('noop');
  await load('log-batch');
  const results = { 'log-batch': [] as Result[], noop: [] as Result[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of r % 2 === 0 ? (['log-batch', 'noop'] as const) : (['noop', 'log-batch'] as const)) results[v].push(await load(v));
  }
  console.log(`MLflow log-batch, ${METRICS} metrics per call, ${CLIENTS} concurrent clients, ${ROUNDS} rounds of ${SECONDS} s (median), node ${process.version}, ${os.cpus().length} CPUs`);
  console.log(`${'route'.padEnd(44)} ${'req/s'.padStart(8)} ${'points/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  const row = (name: string, rs: Result[]) => {
    const m = (f: (x: Result) => number) => median(rs.map(f));
    console.log(`${name.padEnd(44)} ${m((x) => x.rps).toFixed(0).padStart(8)} ${(m((x) => x.pointsPerS) || 0).toFixed(0).padStart(10)} ${m((x) => x.p50).toFixed(2).padStart(8)} ${m((x) => x.p99).toFixed(2).padStart(8)}   (req/s by round: ${rs.map((x) => x.rps.toFixed(0)).join(', ')})`);
  };
  row('POST /api/2.0/mlflow/runs/log-batch', results['log-batch']);
  row('POST /noop (auth + same body, the ceiling)', results.noop);
  console.log(`log-batch at ${((median(results['log-batch'].map((x) => x.rps)) / median(results.noop.map((x) => x.rps))) * 100).toFixed(0)} % of the ceiling's request rate`);
} finally {
  agent.destroy();
  await noop.close();
  await c.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
