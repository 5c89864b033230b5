/**
 * The ceilings every throughput figure is compared with, measured in the same run on the same
 * machine (they are noisy: only a same-run ratio means much):
 *   - Node's raw spawn rate of the trial program: N spawns at the agents' total concurrency,
 *     stdout read to its end, as the process runtime does (no shell, own process group);
 *   - BullMQ's raw no-op job rate: N jobs added with addBulk, run by one Worker process of
 *     concurrency S (bullmq-worker.ts), timed from the first add to the N-th completion seen.
 */
import { fork, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { queuePrefix } from '../../shared/trial-job.js';

export interface CeilingResult { rate: number; n: number; seconds: number; concurrency: number }

export async function spawnCeiling(o: { command: string[]; n: number; concurrency: number }): Promise<CeilingResult> {
  const [file, ...args] = o.command;
  let started = 0;
  let failed = 0;
  const one = () => new Promise<void>((resolve) => {
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false });
    child.stdout!.resume();
    child.stderr!.resume();
    child.on('error', () => { failed++; resolve(); });
    child.on('close', () => resolve());
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.n) }, async () => {
    while (started < o.n) {
      started++;
      await one();
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  if (failed > 0) throw new Error(`spawn ceiling: ${failed} of ${o.n} spawns of ${JSON.stringify(o.command)} failed`);
  return { rate: o.n / seconds, n: o.n, seconds, concurrency: o.concurrency };
}

export async function bullmqCeiling(o: { redis: Redis; redisUrl: string; prefix: string; n: number; concurrency: number }): Promise<CeilingResult> {
  const name = `ceiling-${process.pid}-${Date.now()}`;
  const prefix = queuePrefix(o.prefix);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = fork(path.join(here, 'bullmq-worker.ts'), [name, prefix, String(o.concurrency), String(o.n)], {
    execArgv: ['--import', 'tsx'], env: { ...process.env, LOAD_CEILING_REDIS_URL: o.redisUrl }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const q = new Queue(name, { connection: o.redis, prefix });
  try {
    const message = (type: string, ms: number) => new Promise<{ at?: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`BullMQ ceiling: no "${type}" from the worker within ${ms} ms`)), ms);
      child.on('message', (m: { type?: string; at?: number }) => { if (m?.type === type) { clearTimeout(timer); resolve(m); } });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`BullMQ ceiling: the worker exited (code ${code})`)); });
    });
    await message('ready', 60_000);
    const done = message('done', 180_000);
    const t0 = Date.now();
    for (let i = 0; i < o.n; i += 1000) {
      const jobs = [];
      for (let j = i; j < Math.min(o.n, i + 1000); j++) jobs.push({ name: 'noop', data: { trialId: 't', params: { x: 0.5 }, i: j }, opts: { removeOnComplete: true, removeOnFail: true } });
      await q.addBulk(jobs);
    }
    const { at } = await done;
    const seconds = ((at ?? Date.now()) - t0) / 1000;
    return { rate: o.n / seconds, n: o.n, seconds, concurrency: o.concurrency };
  } finally {
    child.send?.({ type: 'stop' });
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
    });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
}
