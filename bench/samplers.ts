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
 *
 * The `conditional` function (a conditional space, bench/functions.ts) is also run, in the same
 * run and on the same seeds and budget, with Optuna's TPESampler(multivariate=True, group=True)
 * through bench/optuna_conditional.py, and our tpe is compared with it. The Python is
 * $TUNEHIVE_PYTHON or python3; without optuna the comparison is skipped with a message saying so
 * (`--no-optuna` skips it on purpose). The bench is not part of the test suite.
 */
import { execFile } from 'node:child_process';
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
    const flag = argv[i + 1] === undefined || argv[i + 1]!.startsWith('--');
    const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), flag ? '' : argv[++i]!];
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
  let md = renderMarkdown(summaries, algos, functions, modes, seeds, seconds, errors);
  let optuna: OptunaResult | undefined;
  if (functions.includes(CONDITIONAL) && modes.includes('sequential') && !args.has('no-optuna')) {
    optuna = await optunaConditional(seeds);
    const ours = algos.includes('tpe') ? tasks.filter((t) => t.algorithm === 'tpe' && t.fn === CONDITIONAL && t.mode === 'sequential').map((t) => results[t.id]!.curve) : [];
    md += renderOptunaComparison(optuna, ours.every((c) => c !== null) ? (ours as number[][]) : [], seeds);
  }
  console.log(md);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${outName}.json`), JSON.stringify({ seeds, trials: TRIALS, overrides, summaries, seconds, errors: Object.fromEntries(errors), peers: PEER_FIGURES, optunaConditional: optuna }, null, 2));
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

const CONDITIONAL = 'conditional';
type OptunaResult = { version: string; curves: number[][]; seconds: number } | { missing: string };

/** Optuna's TPE (group=True) on the conditional function, seeds 0..n-1, or why it could not run. */
async function optunaConditional(seeds: number): Promise<OptunaResult> {
  const python = process.env.TUNEHIVE_PYTHON ?? 'python3';
  const run = (args: string[]) => new Promise<string>((resolve, reject) => {
    execFile(python, args, { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) => (err ? reject(new Error(stderr.trim().split('\n').at(-1) || err.message)) : resolve(stdout)));
  });
  try {
    await run(['-c', 'import optuna']);
  } catch (err) {
    return {
      missing: `${python} cannot import optuna (${(err as Error).message.slice(0, 200)}). Install it with ` +
        '`pip install --no-index --find-links /opt/pypi/files optuna` (it also takes alembic, colorlog, numpy, packaging, sqlalchemy, tqdm, PyYAML, Mako, MarkupSafe and typing-extensions from that folder), ' +
        'or set TUNEHIVE_PYTHON to a python3 that has it',
    };
  }
  process.stderr.write(`running Optuna's TPE (group=True) on ${CONDITIONAL}, ${seeds} seeds...\n`);
  const t0 = performance.now();
  const out = JSON.parse(await run([join(dirname(fileURLToPath(import.meta.url)), 'optuna_conditional.py'), String(seeds), String(TRIALS)])) as { optuna: string; curves: number[][] };
  return { version: out.optuna, curves: out.curves, seconds: (performance.now() - t0) / 1000 };
}

function renderOptunaComparison(optuna: OptunaResult, ours: number[][], seeds: number): string {
  const lines = ['', `## Conditional space: tunehive tpe (group decomposition) vs Optuna TPE (group=True, multivariate=True)`, ''];
  if ('missing' in optuna) {
    lines.push(`Optuna TPE (group): NOT RUN: ${optuna.missing}.`, '');
    return lines.join('\n');
  }
  if (ours.length === 0) {
    lines.push('tunehive tpe was not run on this function (add tpe to --algorithms).', '');
    return lines.join('\n');
  }
  lines.push(`Function \`${CONDITIONAL}\` (bench/functions.ts), seeds 0..${seeds - 1} for both, ${TRIALS} sequential trials; Optuna ${optuna.version} (${optuna.seconds.toFixed(0)} s for all seeds).`);
  lines.push('Median log10 regret [25th, 75th percentile]; regret ratio = 10^(ours - Optuna) of the medians (< 1: ours is lower); wins = seeds where our best-so-far is lower at that budget.', '');
  lines.push('| trials | tunehive tpe | Optuna TPE (group) | regret ratio | wins |', '| --- | --- | --- | --- | --- |');
  for (const budget of BUDGETS) {
    const a = ours.map((c) => c[budget - 1]!);
    const b = optuna.curves.map((c) => c[budget - 1]!);
    const med = (xs: number[]) => quantile(xs, 0.5);
    const cell = (xs: number[]) => `${fmt(med(xs))} [${fmt(quantile(xs, 0.25))}, ${fmt(quantile(xs, 0.75))}]`;
    const wins = a.filter((v, i) => b[i] !== undefined && v < b[i]!).length;
    lines.push(`| ${budget} | ${cell(a)} | ${cell(b)} | ${(10 ** (med(a) - med(b))).toFixed(2)} | ${wins}/${Math.min(a.length, b.length)} |`);
  }
  lines.push('');
  return lines.join('\n');
}

if (!isMainThread) {
  parentPort!.on('message', (t: Task) => parentPort!.postMessage(runTask(t)));
} else {
  await main();
}
