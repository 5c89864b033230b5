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
import type { Figure, Section } from './figures.js';
import type { LoadOptions } from './options.js';
import type { LoadStack } from './stack.js';

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

/**
 * Measures the ceilings next to the runs they bound: the spawn rate just before the
 * real-process run, BullMQ's rate just before a simulated one (after its warm-up), so the ratio
 * compares two figures taken minutes, not a whole run, apart on a machine whose load changes.
 */
export class CeilingMeter {
  private readonly measured: Array<{ kind: 'spawn' | 'bullmq'; before: string; r: CeilingResult }> = [];

  constructor(private readonly enabled: boolean, private readonly stack: LoadStack, private readonly o: LoadOptions, private readonly say: (l: string) => void) {}

  async spawn(before: string): Promise<number | undefined> {
    if (!this.enabled) return undefined;
    const n = Math.min(this.o.trials, 2000);
    const concurrency = this.o.agents * this.o.slots;
    this.say(`bench:load: ceiling before ${before}: ${n} raw spawns of ${this.o.program.join(' ')} at concurrency ${concurrency} ...`);
    const r = await spawnCeiling({ command: this.o.program, n, concurrency });
    this.measured.push({ kind: 'spawn', before, r });
    return r.rate;
  }

  async bullmq(before: string): Promise<number | undefined> {
    if (!this.enabled) return undefined;
    const n = Math.max(2000, Math.min(20_000, 2 * this.o.trials));
    this.say(`bench:load: ceiling before ${before}: ${n} BullMQ no-op jobs, 1 Worker process of concurrency ${this.o.slots} ...`);
    const r = await bullmqCeiling({ redis: this.stack.redis, redisUrl: this.stack.redisUrl, prefix: this.o.prefix, n, concurrency: this.o.slots });
    this.measured.push({ kind: 'bullmq', before, r });
    return r.rate;
  }

  section(): Section | undefined {
    if (this.measured.length === 0) return undefined;
    const figures: Figure[] = this.measured.map(({ kind, before, r }, i) => kind === 'spawn'
      ? { key: `ceiling.spawnPerSecond.${i}`, label: `Node raw spawn rate of ${this.o.program.join(' ')} (${r.n} spawns, concurrency ${r.concurrency}, stdout read), before ${before}`, value: r.rate, unit: 'spawns/s' }
      : { key: `ceiling.bullmqJobsPerSecond.${i}`, label: `BullMQ raw no-op jobs/s (${r.n} jobs by addBulk, 1 Worker process of concurrency ${r.concurrency}, to the last completion), before ${before}`, value: r.rate, unit: 'jobs/s' });
    return { name: 'ceilings (same run, same machine, each just before the run it bounds)', settings: { program: this.o.program.join(' ') }, figures };
  }
}
