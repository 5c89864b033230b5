/**
 * Big metric series: stores `--points` (default 1,000,000) points in one trial, then times
 * GET /api/v1/trials/:id, a page of the series and the whole series down-sampled, and prints
 * the bytes Redis spends per point (MEMORY USAGE over every key of the trial).
 *
 *   npm run bench:metric-series [-- --points 1000000 --max-points 1000 --batch 10000]
 *
 * Runs its own redis-server on a free port (nothing else is touched).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startLocalRedis } from '../cli/local-redis.js';
import { startCoordinator } from '../coordinator/main.js';

const { values } = parseArgs({ options: { points: { type: 'string', default: '1000000' }, 'max-points': { type: 'string', default: '1000' }, batch: { type: 'string', default: '10000' } } });
const N = Number(values.points);
const MAX = Number(values['max-points']);

const BENCH_TOKEN = randomBytes(24).toString('hex');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-series-'));
const redis = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
// Even if this process dies early (a closed stdout pipe), its redis-server must not outlive it.
process.on('exit', () => redis.process.kill('SIGKILL'));
const c = await startCoordinator({ redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix: 'bench', log: pino({ level: 'silent' }),
  reconcileIntervalMs: 600_000, checkpointDir: path.join(dir, 'ckpt'), adminToken: BENCH_TOKEN });
const auth = { authorization: `Bearer ${BENCH_TOKEN}` };
const rss = () => `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`;

async function timed(label: string, url: string): Promise<void> {
  const t0 = performance.now();
  const res = await fetch(`${c.httpUrl}${url}`, { headers: auth });
  const text = await res.text();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(44)} ${String(res.status).padEnd(4)} ${(text.length / 1e6).toFixed(3).padStart(9)} MB ${ms.toFixed(0).padStart(7)} ms   coordinator RSS ${rss()}`);
}

try {
  const res = await fetch(`${c.httpUrl}/api/v1/studies`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({
    name: 'bench-series', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
    maxTrials: 1, trial: { command: ['unused'] }, limits: { maxMetricPoints: 10_000_000 },
  }) });
  const id = ((await res.json()) as { id: string }).id;
  for (let i = 0; i < 100 && (await c.store.getStudy(id))?.counts.queued !== 1; i++) await new Promise((r) => setTimeout(r, 50));
  await c.store.startAttempt(id, 0, 'bench', 0, '', 3);

  // Half objective, half another metric, random 17-digit values: what a training loop reports.
  const t0 = Date.now();
  const BATCH = Number(values.batch);
  const started = performance.now();
  for (let seq = 1, i = 0; i < N; seq++, i += BATCH) {
    const points = [];
    for (let k = i; k < Math.min(N, i + BATCH); k++) points.push({ name: k % 2 ? 'acc' : 'loss', step: k >> 1, value: Math.random(), timeMs: t0 + k });
    await c.store.appendMetrics(id, 0, 1, seq, 'loss', points, 10_000_000);
  }
  console.log(`stored ${N} points in ${((performance.now() - started) / 1000).toFixed(1)} s (${(N / ((performance.now() - started) / 1000)).toFixed(0)} points/s through the store)`);

  let bytes = 0;
  for (const k of await c.store.redis.keys(`bench:{${id}}:trial:0*`)) bytes += Number(await c.store.redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
  console.log(`redis: ${(bytes / 2 ** 20).toFixed(1)} MiB for ${N} points = ${(bytes / N).toFixed(1)} B per point (half of them objective points)`);

  await timed('GET /trials/:id', `/api/v1/trials/${id}.0`);
  await timed('GET /trials/:id/metrics', `/api/v1/trials/${id}.0/metrics`);
  await timed('GET /trials/:id/metrics/loss?limit=1000 (page)', `/api/v1/trials/${id}.0/metrics/loss?limit=1000`);
  await timed(`GET .../loss?after=${N / 2 - 1000}&limit=1000 (last page)`, `/api/v1/trials/${id}.0/metrics/loss?after=${N / 2 - 1000}&limit=1000`);
  await timed(`GET .../loss?maxPoints=${MAX} (${N / 2} points)`, `/api/v1/trials/${id}.0/metrics/loss?maxPoints=${MAX}`);
  // /healthz stays fast while a down-sample streams through a series.
  const slow = fetch(`${c.httpUrl}/api/v1/trials/${id}.0/metrics/loss?maxPoints=${MAX}`, { headers: auth }).then((r) => r.text());
  const h0 = performance.now();
  await fetch(`${c.httpUrl}/healthz`).then((r) => r.text());
  console.log(`/healthz during a down-sample: ${(performance.now() - h0).toFixed(0)} ms`);
  await slow;
} finally {
  await c.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
