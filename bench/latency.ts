/**
 * Suggestion latency: median ms per ask+tell for the model-based samplers with 100..2000
 * finished trials on the mixed_a space (random parameters, mixed_a values), 20 pairs each, and
 * Optuna 3.1's TPE measured in the same run when /usr/bin/python3 has optuna.
 *
 *   npx tsx bench/latency.ts [--algorithms tpe,gp] [--sizes 100,500,1000,2000] [--pairs 20] [--no-optuna]
 *
 * Writes bench/results/latency.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleUniform } from '../coordinator/search/random.js';
import { SAMPLERS } from '../coordinator/search/registry.js';
import { suggestNow } from '../coordinator/search/suggest.js';
import { createRng } from '../shared/rng.js';
import type { FrozenTrial } from '../shared/trial.js';
import { BENCH_FUNCTIONS } from './functions.js';

const here = dirname(fileURLToPath(import.meta.url));
const mixedA = BENCH_FUNCTIONS.find((f) => f.name === 'mixed_a')!;
const WARMUP = 3;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

/** Median ms of `pairs` ask+tell pairs after `n` random finished trials. */
function measure(algorithm: string, n: number, pairs: number): number {
  const rng = createRng(n);
  const trials: FrozenTrial[] = [];
  for (let i = 0; i < n; i++) {
    const params = sampleUniform(mixedA.space, rng);
    trials.push({ number: i, params, state: 'COMPLETED', loss: mixedA.f(params) });
  }
  const times: number[] = [];
  // A few untimed pairs first: a running coordinator has its code compiled, a fresh process does not.
  for (let i = -WARMUP; i < pairs; i++) {
    const t0 = performance.now();
    const params = suggestNow({ algorithm: { name: algorithm, settings: {} }, space: mixedA.space, seed: 1, trialNumber: trials.length, trials, pending: [] });
    if (params) trials.push({ number: trials.length, params, state: 'COMPLETED', loss: mixedA.f(params) });
    if (i >= 0) times.push(performance.now() - t0);
  }
  return median(times);
}

interface OptunaRow { sampler: string; n: number; median_ms: number }

function runOptuna(sizes: number[], pairs: number): { version: string; results: OptunaRow[] } | null {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import optuna'], { stdio: 'ignore' });
  } catch {
    console.error('optuna is not importable by /usr/bin/python3 (apt-get install -y python3-optuna); skipping the Optuna comparison');
    return null;
  }
  console.error('running Optuna 3.1 TPE (univariate and multivariate) ...');
  const out = execFileSync('/usr/bin/python3', [join(here, 'optuna_latency.py'), sizes.join(','), String(pairs), 'tpe,tpe_mv'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const parsed = JSON.parse(out.trim().split('\n').at(-1)!) as { optuna: string; results: OptunaRow[] };
  return { version: parsed.optuna, results: parsed.results };
}

function main(): void {
  const sizes = (arg('sizes') ?? '100,500,1000,2000').split(',').map(Number);
  const pairs = Number(arg('pairs') ?? 20);
  const wanted = (arg('algorithms') ?? 'tpe,gp').split(',');
  const algorithms = wanted.filter((a) => SAMPLERS.has(a));
  const missing = wanted.filter((a) => !SAMPLERS.has(a));
  if (missing.length) console.error(`not in the registry, skipped: ${missing.join(', ')}`);

  const ours: Array<{ algorithm: string; n: number; medianMs: number }> = [];
  for (const algorithm of algorithms) {
    for (const n of sizes) {
      process.stderr.write(`${algorithm} with ${n} trials ... `);
      const medianMs = measure(algorithm, n, pairs);
      process.stderr.write(`${medianMs.toFixed(2)} ms\n`);
      ours.push({ algorithm, n, medianMs });
    }
  }
  const optuna = process.argv.includes('--no-optuna') ? null : runOptuna(sizes, pairs);
  const optunaMs = (sampler: string, n: number) => optuna?.results.find((r) => r.sampler === sampler && r.n === n)?.median_ms;

  const lines = [
    '# Suggestion latency (mixed_a space)',
    '',
    `Median ms per ask+tell over ${pairs} pairs (after ${WARMUP} untimed ones, for both) after N finished trials (random parameters, mixed_a values).`,
    optuna ? `Optuna ${optuna.version} measured in the same run (in-memory storage, one process).` : 'Optuna not measured in this run.',
    '',
    `| sampler | ${sizes.map((n) => `N=${n}`).join(' | ')} |`,
    `| --- | ${sizes.map(() => '---').join(' | ')} |`,
    ...algorithms.map((a) => `| ${a} | ${sizes.map((n) => ours.find((r) => r.algorithm === a && r.n === n)!.medianMs.toFixed(2)).join(' | ')} |`),
  ];
  if (optuna) {
    for (const s of ['tpe', 'tpe_mv']) lines.push(`| optuna ${s} | ${sizes.map((n) => optunaMs(s, n)?.toFixed(2) ?? 'n/a').join(' | ')} |`);
    lines.push('', 'Ratio ours / Optuna TPE (same multivariate setting: our tpe is multivariate, compared with tpe_mv and tpe):', '');
    lines.push(`| ratio | ${sizes.map((n) => `N=${n}`).join(' | ')} |`, `| --- | ${sizes.map(() => '---').join(' | ')} |`);
    for (const a of algorithms) {
      for (const s of ['tpe_mv', 'tpe']) {
        lines.push(`| ${a} / optuna ${s} | ${sizes.map((n) => {
          const o = optunaMs(s, n);
          return o ? (ours.find((r) => r.algorithm === a && r.n === n)!.medianMs / o).toFixed(3) : 'n/a';
        }).join(' | ')} |`);
      }
    }
  }
  const md = lines.join('\n') + '\n';
  console.log(md);
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latency.json'), JSON.stringify({ pairs, sizes, ours, optuna }, null, 2));
  writeFileSync(join(dir, 'latency.md'), md);
  console.error('wrote bench/results/latency.json and .md');
}

main();
