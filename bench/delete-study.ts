/**
 * What deleting a big study costs: builds an ended study of --trials trials (each with
 * --points metric points, an objective list and a queue job) on a private redis-server, then
 * deletes it with the coordinator's StudyDeleter and prints the time, the keys removed, and the
 * worst latency another client saw meanwhile (a PING every 5 ms: Redis must stay responsive).
 *
 *   npm run bench:delete-study -- --trials 10000 --points 20 [--jobs 0]
 *
 * Writes bench/results/delete-study.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../cli/local-redis.js';
import { FsCheckpointStore } from '../coordinator/checkpoints/checkpoint-store.js';
import { StudyDeleter } from '../coordinator/lifecycle/study-deletion.js';
import { TrialQueue } from '../coordinator/queue/trial-queue.js';
import { RedisStudyStore } from '../coordinator/store/study-store.js';
import { validateStudy } from '../coordinator/study-validation.js';
import { trialId } from '../shared/redis-keys.js';

const { values: a } = parseArgs({ options: {
  trials: { type: 'string', default: '10000' }, points: { type: 'string', default: '20' }, jobs: { type: 'string', default: '1' }, json: { type: 'string', default: 'bench/results/delete-study.json' },
} });
const trials = Number(a.trials);
const points = Number(a.points);
// 1: every trial still has a queue job (the worst case: ended trials' jobs are normally gone already).
const withJobs = a.jobs !== '0';

/** PINGs every 5 ms until its stdin closes; prints "ready", then "<worst ms> <count>". */
const PINGER = `
import { Redis } from 'ioredis';
const r = new Redis(process.argv[1]);
await r.ping();
let worst = 0, n = 0, stop = false;
process.stdin.on('end', () => { stop = true; }).resume();
console.log('ready');
while (!stop) {
  const t = performance.now();
  await r.ping();
  worst = Math.max(worst, performance.now() - t);
  n++;
  await new Promise((res) => setTimeout(res, 5));
}
console.log(worst.toFixed(1) + ' ' + n);
r.disconnect();
`;

/**
 * Another client's view, from its own process: this process's event loop is busy building
 * pipelines, which says nothing about whether Redis answers.
 */
async function pinged(url: string, work: () => Promise<void>): Promise<{ worstMs: number; pings: number }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PINGER, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  try {
    await work();
  } finally {
    child.stdin.end();
    await once(child, 'exit');
  }
  const [worstMs, pings] = out.trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
  return { worstMs, pings };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-delete-'));
const server = await startLocalRedis({ dataDir: path.join(tmp, 'redis'), appendOnly: false });
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
const store = new RedisStudyStore(redis, 'bench');
const queue = new TrialQueue(redis, 'bench');
const checkpoints = new FsCheckpointStore(path.join(tmp, 'ckpt'));
try {
  const spec = validateStudy({
    name: 'bench-delete', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
    maxTrials: trials, parallelism: 1, trial: { command: ['true'] },
  });
  const study = await store.createStudy(spec);
  const t0 = performance.now();
  const CHUNK = 500;
  for (let from = 0; from < trials; from += CHUNK) {
    const ns = Array.from({ length: Math.min(CHUNK, trials - from) }, (_, i) => from + i);
    // Issued together, sent in order: createTrial checks that numbers come one after another.
    await Promise.all(ns.map((n) => store.createTrial(study.id, n, { x: n / trials }, trials)));
    if (withJobs) await Promise.all(ns.map((n) => queue.enqueue({ studyId: study.id, trialId: trialId(study.id, n), number: n, params: { x: n / trials }, gpus: 0 }, 0)
      .then((jobId) => store.setTrialJob(study.id, n, jobId))));
    await Promise.all(ns.map((n) => store.startAttempt(study.id, n, 'bench', 0, '', 3)));
    await Promise.all(ns.map((n) => store.appendMetrics(study.id, n, 1, 1, 'loss',
      Array.from({ length: points }, (_, s) => ({ name: s % 2 ? 'acc' : 'loss', step: s, value: 1 / (s + 1), timeMs: Date.now() })), points)));
    await Promise.all(ns.map((n) => store.finishTrial(study.id, n, 1, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 3 })));
  }
  await store.endStudy(study.id, 'COMPLETED', 'bench');
  const buildS = (performance.now() - t0) / 1000;
  const keysBefore = await redis.dbsize();
  const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

  const deleter = new StudyDeleter({ store, queue, checkpoints, stop: async () => undefined });
  // The same client with nothing going on, then while the delete runs: the difference is what the delete costs others.
  const idle = await pinged(server.url, () => new Promise((r) => setTimeout(r, 1000)));
  let report!: Awaited<ReturnType<StudyDeleter['delete']>>;
  let deleteMs = 0;
  const during = await pinged(server.url, async () => {
    const d0 = performance.now();
    report = await deleter.delete(study.id);
    deleteMs = performance.now() - d0;
  });
  const keysAfter = await redis.dbsize();

  const result = {
    trials, pointsPerTrial: points, withJobs, buildSeconds: Number(buildS.toFixed(1)), redisKeysBefore: keysBefore, redisKeysAfter: keysAfter,
    usedMemoryBeforeMiB: Number((memBefore / 2 ** 20).toFixed(1)), deleteMs: Math.round(deleteMs), keysDeleted: report.keys, jobsDeleted: report.jobs,
    keysPerSecond: Math.round(report.keys / (deleteMs / 1000)), worstPingMsIdle: idle.worstMs, worstPingMsDuringDelete: during.worstMs, pings: during.pings,
  };
  console.log(`deleted a study of ${trials} trials (${points} points each): ${report.keys} keys and ${report.jobs} queue jobs in ${result.deleteMs} ms ` +
    `(${result.keysPerSecond} keys/s); another client's worst PING: ${during.worstMs} ms meanwhile (${during.pings} pings), ${idle.worstMs} ms idle; keys left in Redis: ${keysAfter}`);
  mkdirSync(path.dirname(a.json!), { recursive: true });
  writeFileSync(a.json!, JSON.stringify(result, null, 2));
} finally {
  await queue.close();
  redis.disconnect();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
