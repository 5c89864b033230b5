/**
 * Quick tuning harness for the `gp` sampler (the full cross-sampler benchmark is
 * bench/samplers.ts). Same protocol as the public suite: minimise, simple regret after n
 * trials, median log10 regret over seeds; sequential, or batches of 8 asked while all pending.
 *
 *   node --import tsx bench/gp-quick.ts [--fn=branin,ackley5,rosenbrock4,mixed_a] [--seeds=10]
 *        [--mode=seq,batch] [--trials=100] [--algo=gp] [--settings='{"nStartupTrials":10}']
 *   node --import tsx bench/gp-quick.ts --latency=100,1000,2000
 */
import { suggestNow, type SuggestRequest } from '../coordinator/search/suggest.js';
import { createRng } from '../shared/rng.js';
import type { Params, SearchSpace } from '../shared/search-space.js';
import type { FrozenTrial } from '../shared/trial.js';
import { sampleUniform } from '../coordinator/search/random.js';

interface Fn { space: SearchSpace; f: (p: Params) => number; fmin: number }

const num = (p: Params, k: string) => p[k] as number;
const FNS: Record<string, Fn> = {
  branin: {
    space: { x1: { type: 'float', min: -5, max: 10 }, x2: { type: 'float', min: 0, max: 15 } },
    f: (p) => {
      const x1 = num(p, 'x1'), x2 = num(p, 'x2');
      const b = 5.1 / (4 * Math.PI ** 2), c = 5 / Math.PI, t = 1 / (8 * Math.PI);
      return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
    },
    fmin: 0.397887357729738,
  },
  ackley5: {
    space: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`x${i}`, { type: 'float', min: -32.768, max: 32.768 }])) as SearchSpace,
    f: (p) => {
      const x = Array.from({ length: 5 }, (_, i) => num(p, `x${i}`));
      const m2 = x.reduce((s, v) => s + v * v, 0) / 5;
      const mc = x.reduce((s, v) => s + Math.cos(2 * Math.PI * v), 0) / 5;
      return -20 * Math.exp(-0.2 * Math.sqrt(m2)) - Math.exp(mc) + 20 + Math.E;
    },
    fmin: 0,
  },
  rosenbrock4: {
    space: Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`x${i}`, { type: 'float', min: -5, max: 10 }])) as SearchSpace,
    f: (p) => {
      const x = Array.from({ length: 4 }, (_, i) => num(p, `x${i}`));
      let s = 0;
      for (let i = 0; i < 3; i++) s += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (1 - x[i]!) ** 2;
      return s;
    },
    fmin: 0,
  },
  mixed_a: {
    space: {
      lr: { type: 'float', min: 1e-5, max: 1, log: true },
      layers: { type: 'int', min: 1, max: 8 },
      optimizer: { type: 'categorical', values: ['sgd', 'adam', 'rmsprop'] },
      dropout: { type: 'float', min: 0, max: 0.9 },
      batch_size: { type: 'int', min: 16, max: 512, log: true },
    },
    f: (p) => {
      const [us, off] = ({ sgd: [-1.0, 0.05], adam: [-3.0, 0.0], rmsprop: [-2.5, 0.02] } as Record<string, [number, number]>)[p.optimizer as string]!;
      const u = Math.log10(num(p, 'lr'));
      const dr = num(p, 'dropout') - 0.2;
      return 0.5 * (u - us) ** 2 + (0.1 * (num(p, 'layers') - 4) ** 2) / 16 + dr * dr +
        (0.05 * (Math.log2(num(p, 'batch_size')) - 6) ** 2) / 9 + 0.3 * (u - us + dr) ** 2 + off;
    },
    fmin: 0,
  },
};

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, ...v] = a.replace(/^--/, '').split('=');
  return [k!, v.join('=')];
}));
const algo = args.algo || 'gp';
const settings = args.settings ? (JSON.parse(args.settings) as Record<string, unknown>) : {};
const BUDGETS = [10, 25, 50, 100];

function run(fn: Fn, seed: number, trials: number, batch: number): { best: number[]; ms: number[] } {
  const done: FrozenTrial[] = [];
  const values: number[] = new Array<number>(trials);
  const ms: number[] = [];
  for (let start = 0; start < trials; start += batch) {
    const asked: Array<{ number: number; params: Params }> = [];
    for (let t = start; t < Math.min(trials, start + batch); t++) {
      const req: SuggestRequest = { algorithm: { name: algo, settings }, space: fn.space, seed, trialNumber: t, trials: done, pending: asked.map((a) => a.params) };
      const t0 = performance.now();
      const params = suggestNow(req)!;
      ms.push(performance.now() - t0);
      asked.push({ number: t, params });
    }
    for (const a of asked) {
      const v = fn.f(a.params);
      values[a.number] = v;
      done.push({ number: a.number, params: a.params, state: 'COMPLETED', loss: v });
    }
  }
  const best: number[] = [];
  let b = Infinity;
  for (let i = 0; i < trials; i++) { b = Math.min(b, values[i]!); best.push(b); }
  return { best, ms };
}

const q = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); const i = (s.length - 1) * p; const lo = Math.floor(i); return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo); };
const f2 = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(2);

if (args.latency) {
  const fn = FNS.mixed_a!;
  for (const N of args.latency.split(',').map(Number)) {
    const rng = createRng(N);
    const done: FrozenTrial[] = [];
    for (let i = 0; i < N; i++) { const params = sampleUniform(fn.space, rng); done.push({ number: i, params, state: 'COMPLETED', loss: fn.f(params) }); }
    const ms: number[] = [];
    const cpu: number[] = [];
    for (let k = 0; k < Number(args.asks || 20); k++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const params = suggestNow({ algorithm: { name: algo, settings }, space: fn.space, seed: 1, trialNumber: N + k, trials: done, pending: [] })!;
      const c1 = process.cpuUsage(c0);
      cpu.push((c1.user + c1.system) / 1000);
      ms.push(performance.now() - t0);
      done.push({ number: N + k, params, state: 'COMPLETED', loss: fn.f(params) });
    }
    // CPU time as well as wall time: on a shared machine the wall clock mostly measures the neighbours.
    console.log(`latency ${algo} N=${N}: median ${q(ms, 0.5).toFixed(1)} ms/ask wall (min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)}), median ${q(cpu, 0.5).toFixed(1)} ms CPU`);
  }
} else {
  const fns = (args.fn || 'branin,ackley5,rosenbrock4,mixed_a').split(',');
  const modes = (args.mode || 'seq,batch').split(',');
  const seeds = Number(args.seeds || 10);
  const seed0 = Number(args.seed0 || 0);
  const trials = Number(args.trials || 100);
  for (const mode of modes) {
    for (const name of fns) {
      const fn = FNS[name];
      if (!fn) throw new Error(`unknown function ${name}`);
      const regrets: number[][] = BUDGETS.map(() => []);
      const allMs: number[] = [];
      const t0 = performance.now();
      for (let s = seed0; s < seed0 + seeds; s++) {
        const { best, ms } = run(fn, s, trials, mode === 'batch' ? 8 : 1);
        allMs.push(...ms);
        BUDGETS.forEach((b, i) => { if (b <= trials) regrets[i]!.push(Math.log10(Math.max(best[b - 1]! - fn.fmin, 1e-12))); });
      }
      const cols = BUDGETS.filter((b) => b <= trials).map((b, i) => `@${b} ${f2(q(regrets[i]!, 0.5))} [${f2(q(regrets[i]!, 0.25))},${f2(q(regrets[i]!, 0.75))}]`);
      console.log(`${algo} ${mode.padEnd(5)} ${name.padEnd(11)} ${cols.join('  ')}  | ${(allMs.reduce((a, b) => a + b, 0) / allMs.length).toFixed(0)} ms/ask mean, max ${Math.max(...allMs).toFixed(0)}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      if (args.verbose) console.log('   per seed @' + trials + ': ' + regrets[regrets.length - 1]!.map(f2).join(' '));
    }
  }
}
