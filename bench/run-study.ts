/**
 * One benchmark run: an algorithm on a function for 100 trials, sequentially or in rounds of
 * parallel asks, through `suggestNow` (the path production takes). Returns the best-so-far log10
 * regret after every trial, indexed by trial number.
 */
import { suggestNow } from '../coordinator/search/suggest.js';
import type { Params } from '../shared/search-space.js';
import type { FrozenTrial } from '../shared/trial.js';
import { logRegret, type BenchFunction } from './functions.js';

export interface RunSpec {
  algorithm: string;
  settings: Record<string, unknown>;
  fn: BenchFunction;
  seed: number;
  trials: number;
  /** 1 = sequential; k = ask k (the earlier ones pending), evaluate, tell, repeat. */
  batch: number;
}

export interface RunResult {
  /** curve[i] = log10 regret of the best of trials 0..i. */
  curve: number[];
  suggestMs: number;
}

export function runStudy(spec: RunSpec): RunResult {
  const { fn, batch } = spec;
  const trials: FrozenTrial[] = [];
  const losses: number[] = [];
  let suggestMs = 0;
  for (let start = 0; start < spec.trials; start += batch) {
    const pending: Params[] = [];
    const size = Math.min(batch, spec.trials - start);
    for (let j = 0; j < size; j++) {
      const t0 = performance.now();
      const params = suggestNow({
        algorithm: { name: spec.algorithm, settings: spec.settings },
        space: fn.space,
        seed: spec.seed,
        trialNumber: start + j,
        trials,
        pending: [...pending],
      });
      suggestMs += performance.now() - t0;
      if (params === null) break;
      pending.push(params);
    }
    if (pending.length === 0) break;
    pending.forEach((params, j) => {
      const loss = fn.f(params);
      losses.push(loss);
      trials.push({ number: start + j, params, state: 'COMPLETED', loss });
    });
  }
  const curve: number[] = [];
  let best = Infinity;
  for (let i = 0; i < spec.trials; i++) {
    if (i < losses.length) best = Math.min(best, losses[i]!);
    curve.push(logRegret(best, fn.fMin));
  }
  return { curve, suggestMs };
}
