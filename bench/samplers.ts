/**
 * Sampler benchmark: every registered algorithm on the public functions, 100 trials per run,
 * seeds 0..N-1, sequential and in rounds of 8. Prints median and quartiles of log10 regret at
 * 10/25/50/100 trials next to the Optuna 3.1 and BoTorch figures, and writes
 * bench/results/samplers.{json,md}.
 *
 *   npx tsx bench/samplers.ts [--algorithms tpe,cmaes] [--functions branin] [--seeds 20]
 *     [--modes sequential,batch8] [--jobs 2] [--settings '{"tpe":{"gamma":0.15}}'] [--out samplers]
 *
 * Runs are spread over worker threads (--jobs, default: the number of CPUs, at most 2 unless given).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { SAMPLERS } from '../coordinator/search/registry.js';
import { BENCH_FUNCTIONS } from './functions.js';
import { BUDGETS, bestOptuna, botorch, PEER_FIGURES, type Mode } from './peers.js';
import { runStudy } from './run-study.js';

const TRIALS = 100;
const BATCH: Record<Mode, number> = { sequential: 1, batch8: 8 };
/** Algorithms that cannot take the benchmark's spaces at all (grid would only enumerate a tiny grid). */
const SKIP = new Set(['grid']);

interface Task { id: number; algorithm: string; settings: Record<string, unknown>; fn: string; mode: Mode; seed: number }
interface TaskResult { id: number; curve: number[] | null; suggestMs: number; error?: string }

function settingsFor(algorithm: string, seed: number, overrides: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const s = { ...(overrides[algorithm] ?? {}) };
  // Each run is its own "study": its seed becomes Sobol's scramble seed
  // (otherwise every seed would run the same sequence).
  if (algorithm === 'sobol' && s.seed === undefined) s.seed = seed;
  return s;
}

function runTask(t: Task): TaskResult {
  const fn = BENCH_FUNCTIONS.find((f) => f.name === t.fn)!;
  const factory = SAMPLERS.get(t.algorithm)!;
  const invalid = factory.validate(t.settings, fn.space);
  if (invalid.length > 0) return { id: t.id, curve: null, suggestMs: 0, error: invalid.map((e) => `${e.field}: ${e.reason}`).join('; ') };
  const { curve, suggestMs } = runStudy({ algorithm: t.algorithm, settings: t.settings, fn, seed: t.seed, trials: TRIALS, batch: BATCH[t.mode] });
  return { id: t.id, curve, suggestMs };
}

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), argv[++i] ?? ''];
    out.set(k, v);
  }
  return out;
}

const list = (v: string | undefined): string[] | undefined => v?.split(',').map((s) => s.trim()).filter(Boolean);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

interface Summary { algorithm: string; fn: string; mode: Mode; budget: number; median: number; q25: number; q75: number; runs: number }

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const algorithms = list(args.get('algorithms')) ?? [...SAMPLERS.keys()].filter((a) => !SKIP.has(a));
  const unknown = algorithms.filter((a) => !SAMPLERS.has(a));
  if (unknown.length) console.error(`skipping algorithms not in the registry: ${unknown.join(', ')}`);
  const algos = algorithms.filter((a) => SAMPLERS.has(a));
  const functions = list(args.get('functions')) ?? BENCH_FUNCTIONS.map((f) => f.name);
  const modes = (list(args.get('modes')) ?? ['sequential', 'batch8']) as Mode[];
  const seeds = Number(args.get('seeds') ?? 20);
  const jobs = Number(args.get('jobs') ?? Math.min(2, availableParallelism()));
  const overrides = JSON.parse(args.get('settings') ?? '{}') as Record<string, Record<string, unknown>>;
  const outName = args.get('out') ?? 'samplers';

  const tasks: Task[] = [];
  for (const algorithm of algos) for (const fn of functions) for (const mode of modes) for (let seed = 0; seed < seeds; seed++) {
    tasks.push({ id: tasks.length, algorithm, settings: settingsFor(algorithm, seed, overrides), fn, mode, seed });
  }
  const results = await runAll(tasks, jobs);

  const summaries: Summary[] = [];
  const seconds: Record<string, number> = {};
  const errors = new Map<string, string>();
  for (const algorithm of algos) for (const fn of functions) for (const mode of modes) {
    const mine = tasks.filter((t) => t.algorithm === algorithm && t.fn === fn && t.mode === mode).map((t) => results[t.id]!);
    const failed = mine.find((r) => r.curve === null);
    if (failed) {
      errors.set(`${algorithm}/${fn}`, failed.error ?? 'failed');
      continue;
    }
    seconds[`${algorithm}/${fn}/${mode}`] = mine.reduce((s, r) => s + r.suggestMs, 0) / 1000 / mine.length;
    for (const budget of BUDGETS) {
      const values = mine.map((r) => r.curve![budget - 1]!);
      summaries.push({ algorithm, fn, mode, budget, median: quantile(values, 0.5), q25: quantile(values, 0.25), q75: quantile(values, 0.75), runs: values.length });
    }
  }
  const md = renderMarkdown(summaries, algos, functions, modes, seeds, seconds, errors);
  console.log(md);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${outName}.json`), JSON.stringify({ seeds, trials: TRIALS, overrides, summaries, seconds, errors: Object.fromEntries(errors), peers: PEER_FIGURES }, null, 2));
  writeFileSync(join(dir, `${outName}.md`), md);
  console.error(`wrote bench/results/${outName}.json and .md`);
}

async function runAll(tasks: Task[], jobs: number): Promise<TaskResult[]> {
  const results: TaskResult[] = new Array(tasks.length);
  const started = Date.now();
  let next = 0;
  let done = 0;
  const progress = () => {
    const pct = ((100 * done) / tasks.length).toFixed(0);
    process.stderr.write(`\r${done}/${tasks.length} runs (${pct}%), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  };
  if (jobs <= 1) {
    for (const t of tasks) {
      results[t.id] = runTask(t);
      done++;
      progress();
    }
  } else {
    await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, () => new Promise<void>((resolve, reject) => {
      // A worker thread does not inherit tsx's loader: register it in the worker, then load this file.
      const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const w = new Worker(boot, { eval: true });
      const feed = () => {
        if (next >= tasks.length) {
          void w.terminate().then(() => resolve());
          return;
        }
        w.postMessage(tasks[next++]);
      };
      w.on('message', (r: TaskResult) => {
        results[r.id] = r;
        done++;
        progress();
        feed();
      });
      w.on('error', reject);
      feed();
    })));
  }
  process.stderr.write('\n');
  return results;
}

const fmt = (v: number): string => (v >= 0 ? '+' : '') + v.toFixed(2);

function renderMarkdown(summaries: Summary[], algos: string[], functions: string[], modes: Mode[], seeds: number, seconds: Record<string, number>, errors: Map<string, string>): string {
  const lines: string[] = [
    `# Sampler benchmark`,
    '',
    `Median log10 simple regret over ${seeds} seeds (25th-75th percentile in brackets), ${TRIALS} trials per run; lower is better.`,
    `"Optuna best" is the best Optuna 3.1 median published for that budget (which sampler in brackets); BoTorch where published.`,
    '',
  ];
  for (const mode of modes) {
    lines.push(`## ${mode === 'sequential' ? 'Sequential' : 'Batch of 8 (constant-liar rounds)'}`, '');
    lines.push(`| function | trials | ${algos.join(' | ')} | Optuna best | BoTorch |`);
    lines.push(`| --- | --- | ${algos.map(() => '---').join(' | ')} | --- | --- |`);
    for (const fn of functions) for (const budget of BUDGETS) {
      const cells = algos.map((a) => {
        const s = summaries.find((x) => x.algorithm === a && x.fn === fn && x.mode === mode && x.budget === budget);
        return s ? `${fmt(s.median)} [${fmt(s.q25)}, ${fmt(s.q75)}]` : 'n/a';
      });
      const opt = bestOptuna(fn, mode, budget);
      const bo = botorch(fn, mode, budget);
      lines.push(`| ${fn} | ${budget} | ${cells.join(' | ')} | ${opt ? `${fmt(opt.median)} (${opt.peer.replace('optuna ', '')})` : ''} | ${bo ? fmt(bo.median) : ''} |`);
    }
    lines.push('');
  }
  lines.push('## Does each algorithm match Optuna\'s best at 100 trials?', '');
  lines.push(`| algorithm | ${modes.flatMap((m) => functions.map((f) => `${f} ${m === 'sequential' ? 'seq' : 'b8'}`)).join(' | ')} |`);
  lines.push(`| --- | ${modes.flatMap(() => functions.map(() => '---')).join(' | ')} |`);
  for (const a of algos) {
    const cells = modes.flatMap((mode) => functions.map((fn) => {
      const s = summaries.find((x) => x.algorithm === a && x.fn === fn && x.mode === mode && x.budget === 100);
      const opt = bestOptuna(fn, mode, 100);
      if (!s || !opt) return 'n/a';
      return `${s.median <= opt.median ? 'yes' : 'no'} (${fmt(s.median - opt.median)})`;
    }));
    lines.push(`| ${a} | ${cells.join(' | ')} |`);
  }
  lines.push('', '## Mean sampler time per run (s, 100 suggestions)', '');
  lines.push(`| algorithm | ${modes.flatMap((m) => functions.map((f) => `${f} ${m === 'sequential' ? 'seq' : 'b8'}`)).join(' | ')} |`);
  lines.push(`| --- | ${modes.flatMap(() => functions.map(() => '---')).join(' | ')} |`);
  for (const a of algos) {
    lines.push(`| ${a} | ${modes.flatMap((m) => functions.map((f) => seconds[`${a}/${f}/${m}`]?.toFixed(2) ?? 'n/a')).join(' | ')} |`);
  }
  if (errors.size) {
    lines.push('', '## Not run', '');
    for (const [k, v] of errors) lines.push(`- ${k}: ${v}`);
  }
  return lines.join('\n') + '\n';
}

if (!isMainThread) {
  parentPort!.on('message', (t: Task) => parentPort!.postMessage(runTask(t)));
} else {
  await main();
}
