/**
 * The public sampler benchmark: four functions to minimise, with their search spaces and known
 * minima. Copied from the benchmark's published definitions so the project never reads the
 * shared folder at run time. A fifth, `conditional`, is ours (see conditionalModel below); its
 * Python twin for Optuna is in bench/optuna_conditional.py and must stay identical.
 */
import type { Params, SearchSpace } from '../shared/search-space.js';

export interface BenchFunction {
  name: string;
  space: SearchSpace;
  fMin: number;
  f(params: Params): number;
}

const num = (p: Params, k: string): number => Number(p[k]);

function branin(p: Params): number {
  const x1 = num(p, 'x1');
  const x2 = num(p, 'x2');
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

function ackley(x: number[]): number {
  const n = x.length;
  const sq = x.reduce((s, v) => s + v * v, 0) / n;
  const cs = x.reduce((s, v) => s + Math.cos(2 * Math.PI * v), 0) / n;
  return -20 * Math.exp(-0.2 * Math.sqrt(sq)) - Math.exp(cs) + 20 + Math.E;
}

function rosenbrock(x: number[]): number {
  let s = 0;
  for (let i = 0; i + 1 < x.length; i++) s += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (1 - x[i]!) ** 2;
  return s;
}

const OPTIMIZERS: Record<string, [number, number]> = { sgd: [-1.0, 0.05], adam: [-3.0, 0.0], rmsprop: [-2.5, 0.02] };

function mixedA(p: Params): number {
  const [uStar, off] = OPTIMIZERS[String(p.optimizer)] ?? [0, 1];
  const du = Math.log10(num(p, 'lr')) - uStar;
  const dd = num(p, 'dropout') - 0.2;
  return 0.5 * du ** 2 + (0.1 * (num(p, 'layers') - 4) ** 2) / 16 + dd ** 2 +
    (0.05 * (Math.log2(num(p, 'batch_size')) - 6) ** 2) / 9 + 0.3 * (du + dd) ** 2 + off;
}

/**
 * `conditional`: the shape of issue 14's motivating example. model_type chooses a branch, and
 * each branch has its own parameters and its own optimum; n_estimators is shared but wanted
 * differently by each branch.
 *  - random_forest (max_depth, min_samples_split): a bowl on ints whose best value is 0.2 at
 *    max_depth 11, min_samples_split 4, n_estimators 280: easy to find, and a trap, because
 *  - gradient_boosting (learning_rate on a log scale, subsample) reaches 0 at learning_rate 0.05,
 *    subsample 0.8, n_estimators 150, through a valley: the (du + dn)^2 term couples
 *    log learning_rate with n_estimators (more trees want a lower rate), so a sampler must model
 *    the branch's parameters jointly with the shared one to get far below 0.2.
 * A flat sampler would have to carry max_depth through gradient-boosting trials as noise; here
 * a trial has only its branch's parameters. Minimum 0 (gradient boosting at its optimum).
 */
function conditionalModel(p: Params): number {
  const dn = (num(p, 'n_estimators') - 150) / 250;
  if (p.model_type === 'random_forest') {
    return 0.2 + ((num(p, 'max_depth') - 11) / 12) ** 2 + ((num(p, 'min_samples_split') - 4) / 18) ** 2 + 0.5 * ((num(p, 'n_estimators') - 280) / 250) ** 2;
  }
  const du = Math.log10(num(p, 'learning_rate') / 0.05);
  const ds = num(p, 'subsample') - 0.8;
  return du ** 2 + dn ** 2 + ds ** 2 + 1.5 * (du + dn) ** 2;
}

const box = (names: string[], min: number, max: number): SearchSpace =>
  Object.fromEntries(names.map((n) => [n, { type: 'float' as const, min, max }]));
const xs = (d: number): string[] => Array.from({ length: d }, (_, i) => `x${i}`);
const vec = (p: Params, d: number): number[] => xs(d).map((k) => num(p, k));

export const BENCH_FUNCTIONS: readonly BenchFunction[] = [
  {
    name: 'branin',
    space: { x1: { type: 'float', min: -5, max: 10 }, x2: { type: 'float', min: 0, max: 15 } },
    fMin: 0.397887357729738,
    f: branin,
  },
  { name: 'ackley5', space: box(xs(5), -32.768, 32.768), fMin: 0, f: (p) => ackley(vec(p, 5)) },
  { name: 'rosenbrock4', space: box(xs(4), -5, 10), fMin: 0, f: (p) => rosenbrock(vec(p, 4)) },
  {
    name: 'mixed_a',
    space: {
      lr: { type: 'float', min: 1e-5, max: 1, log: true },
      layers: { type: 'int', min: 1, max: 8 },
      optimizer: { type: 'categorical', values: ['sgd', 'adam', 'rmsprop'] },
      dropout: { type: 'float', min: 0, max: 0.9 },
      batch_size: { type: 'int', min: 16, max: 512, log: true },
    },
    fMin: 0,
    f: mixedA,
  },
  {
    name: 'conditional',
    space: {
      model_type: { type: 'categorical', values: ['random_forest', 'gradient_boosting'] },
      n_estimators: { type: 'int', min: 50, max: 300 },
      max_depth: { type: 'int', min: 3, max: 15, when: { model_type: 'random_forest' } },
      min_samples_split: { type: 'int', min: 2, max: 20, when: { model_type: 'random_forest' } },
      learning_rate: { type: 'float', min: 0.01, max: 0.3, log: true, when: { model_type: 'gradient_boosting' } },
      subsample: { type: 'float', min: 0.5, max: 1, when: { model_type: 'gradient_boosting' } },
    },
    fMin: 0,
    f: conditionalModel,
  },
];

/** log10 of simple regret, floored at 1e-12 as the benchmark protocol says. */
export function logRegret(best: number, fMin: number): number {
  return Math.log10(Math.max(best - fMin, 1e-12));
}
