/**
 * The soak: trials run without pause for `--soak SEC` while the memory of every process
 * (each coordinator's and agent's RSS, redis-server's RSS when it is ours) and Redis's
 * used_memory is sampled every `--soak-interval` (a minute by default).
 *
 * The load is a rolling set of studies: each study, once ended, is checked (every trial
 * COMPLETED exactly once, none stuck, no job left: trial-run.ts `account`) and deleted, and a
 * new one takes its place. Deleting is what makes a steady state possible at all: a study's
 * records live until it is deleted (or swept), so without it Redis would rightly grow.
 *
 * The growth rule (`judgeGrowth`): the first quarter of the soak (at least one interval) is
 * warm-up and not judged; the samples after it are split in thirds by order; a series grows
 * when the highest sample of the last third is above the highest of the first third by more
 * than 10 % of it and by more than a floor (16 MiB for a process's RSS, 8 MiB for Redis memory,
 * below which allocator and GC noise lives). Peaks, not means: a garbage-collected heap saws up
 * and down, and only a rising top is a leak.
 */
import type { Figure, Section } from './figures.js';
import { procSample } from './proc-stats.js';
import { redisSnapshot } from './redis-stats.js';
import type { AgentRuntime, LoadStack } from './stack.js';
import { account, queuedJobs, readTrials, type Accounting } from './trial-run.js';
import { keys } from '../../shared/redis-keys.js';

export const GROWTH_RULE = 'after warm-up (the first quarter, at least one interval), the peak of the last third of the samples may not exceed the peak of the first third by more than 10 % and more than 16 MiB (process RSS) / 8 MiB (Redis memory)';

export interface Sample { t: number; v: number }
export interface Growth { grows: boolean; firstPeak: number; lastPeak: number; judged: number; why: string }

export function judgeGrowth(samples: readonly Sample[], warmupMs: number, floor: number): Growth {
  if (samples.length === 0) return { grows: false, firstPeak: NaN, lastPeak: NaN, judged: 0, why: 'no samples' };
  const start = samples[0]!.t;
  const judged = samples.filter((s) => s.t - start >= warmupMs);
  if (judged.length < 3) return { grows: false, firstPeak: NaN, lastPeak: NaN, judged: judged.length, why: `only ${judged.length} samples after warm-up: not judged` };
  const third = Math.ceil(judged.length / 3);
  const firstPeak = Math.max(...judged.slice(0, third).map((s) => s.v));
  const lastPeak = Math.max(...judged.slice(-third).map((s) => s.v));
  const rise = lastPeak - firstPeak;
  const grows = rise > 0.1 * firstPeak && rise > floor;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return { grows, firstPeak, lastPeak, judged: judged.length, why: `${mib(firstPeak)} -> ${mib(lastPeak)} (${rise >= 0 ? '+' : ''}${mib(rise)}, ${((100 * rise) / firstPeak).toFixed(1)} %)` };
}

export interface SoakOptions {
  durationS: number;
  intervalS: number;
  runtime: AgentRuntime;
  studies: number;
  trialsPerStudy: number;
  parallelism: number;
  trialMs: number;
  command: string[];
  say: (line: string) => void;
}

export interface SoakResult {
  section: Section;
  ok: boolean;
  completed: number;
  studiesChecked: number;
  problems: string[];
  series: Array<{ name: string; samples: Sample[]; growth: Growth }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(stack: LoadStack, o: SoakOptions): Promise<SoakResult> {
  const p = stack.o.prefix;
  const series = new Map<string, Sample[]>();
  const add = (name: string, v: number | undefined) => {
    if (v === undefined || !Number.isFinite(v)) return;
    if (!series.has(name)) series.set(name, []);
    series.get(name)!.push({ t: Date.now(), v });
  };
  const sample = async () => {
    for (const r of stack.replicas) add(`coordinator ${r.index} RSS`, procSample(r.process.pid)?.rssBytes);
    for (const a of stack.agents) add(`agent ${a.id} RSS`, procSample(a.process.pid)?.rssBytes);
    add('redis-server RSS', procSample(stack.redisPid)?.rssBytes);
    add('Redis used_memory', (await redisSnapshot(stack.redis)).usedMemory);
  };
  const problems: string[] = [];
  let seq = 0;
  let completed = 0;
  let checked = 0;
  const submit = async () => {
    const s = await stack.api<{ id: string }>('POST', '/api/v1/studies', {
      name: `soak-${++seq}`, objective: { metric: 'score', direction: 'maximize' },
      searchSpace: { x: { type: 'float', min: 0, max: 1 } }, algorithm: { name: 'random', seed: seq },
      parallelism: o.parallelism, maxTrials: o.trialsPerStudy, maxRetries: 3,
      trial: { command: o.command, env: { SIMULATED_STEPS: '1', SIMULATED_MS: String(o.trialMs) } },
    });
    return s.id;
  };
  /** The books of an ended study, then the study deleted (its data has an owner: this loop). */
  const retire = async (id: string) => {
    const rows = await readTrials(stack, [id]);
    const a: Accounting = await account(stack, [id], rows, o.trialsPerStudy, false, { queues: false });
    checked++;
    completed += a.completed;
    for (const why of a.problems) problems.push(`study ${id}: ${why}`);
    await stack.api('DELETE', `/api/v1/studies/${id}`);
  };

  const t0 = Date.now();
  const end = t0 + o.durationS * 1000;
  const live = new Set<string>();
  for (let i = 0; i < o.studies; i++) live.add(await submit());
  await sample();
  let nextSample = Date.now() + o.intervalS * 1000;
  let lastLine = Date.now();
  const drainUntil = end + 120_000;
  while (live.size > 0) {
    if (Date.now() > drainUntil) {
      problems.push(`${live.size} studies still RUNNING 120 s after the soak ended`);
      break;
    }
    await sleep(250);
    const ids = [...live];
    const states = await Promise.all(ids.map((id) => stack.redis.hget(keys.study(p, id), 'state')));
    for (const [i, id] of ids.entries()) {
      if (states[i] === 'RUNNING') continue;
      live.delete(id);
      await retire(id);
      if (Date.now() < end) live.add(await submit());
    }
    if (Date.now() >= nextSample && Date.now() <= end) {
      await sample();
      nextSample += o.intervalS * 1000;
    }
    if (Date.now() - lastLine >= Math.min(10_000, o.intervalS * 1000)) {
      lastLine = Date.now();
      o.say(`  [soak] ${((Date.now() - t0) / 1000).toFixed(0)}/${o.durationS} s, ${completed} trials checked in ${checked} studies, ${problems.length} problems`);
    }
  }
  const jobsLeft = await queuedJobs(stack, ['default']);
  if (jobsLeft > 0) problems.push(`study queues: ${jobsLeft} jobs left after every study ended`);
  const warmupMs = Math.max(o.intervalS * 1000, (o.durationS * 1000) / 4);
  const judged = [...series].map(([name, samples]) => ({ name, samples, growth: judgeGrowth(samples, warmupMs, name.startsWith('Redis') ? 8 * 2 ** 20 : 16 * 2 ** 20) }));
  const growing = judged.filter((s) => s.growth.grows);
  for (const s of growing) problems.push(`${s.name} grows: ${s.growth.why}`);
  const figures: Figure[] = judged.map((s) => ({
    key: `soak.${s.name.replace(/[^A-Za-z0-9]+/g, '_').replace(/_+$/, '')}`, label: `${s.name}, peak of the last third of the soak`,
    value: s.growth.lastPeak / 2 ** 20, unit: 'MiB', against: { label: 'peak of the first third after warm-up', value: s.growth.firstPeak / 2 ** 20 },
    target: { text: 'no growth after warm-up', met: !s.growth.grows }, limit: s.growth.why,
  }));
  figures.push({
    key: 'soak.trialsAccounted', label: 'trials checked during the soak (each COMPLETED once, none stuck, queues empty)', value: completed, unit: 'trials',
    target: { text: 'every trial accounted for', met: !problems.some((x) => x.startsWith('study')) },
  });
  const ok = problems.length === 0;
  return {
    ok, completed, studiesChecked: checked, problems, series: judged,
    section: {
      name: 'soak',
      settings: { durationS: o.durationS, intervalS: o.intervalS, runtime: o.runtime, studies: o.studies, trialsPerStudy: o.trialsPerStudy, trialMs: o.trialMs, samples: judged[0]?.samples.length ?? 0 },
      figures,
      notes: [`growth rule: ${GROWTH_RULE}`, `${checked} studies run, checked and deleted; ${completed} trials`, ...problems],
    },
  };
}
