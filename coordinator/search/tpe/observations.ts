/**
 * Turns the trial history into TPE's two groups. Trials are ranked best first (see ranking.ts:
 * pruned trials rank below completed ones; failed ones are left out). Pending trials, under the
 * constant liar, join the bad group as if they had turned out worst (with a reduced kernel
 * weight), so that parallel workers are steered away from points already being evaluated.
 */
import type { Params } from '../../../shared/search-space.js';
import type { FrozenTrial } from '../../../shared/trial.js';
import { compareRankKeys, rankKey, type RankKey } from '../ranking.js';
import { encodeParams, type Dim } from './space.js';

export interface Observation {
  x: Float64Array;
  /** Trial number, for age weighting; pending trials count as the newest. */
  age: number;
  /** Multiplies the kernel's weight (pending trials under a softened liar); 1 when absent. */
  weight?: number;
}

/** Usable finished trials, best first. */
export function rankTrials(dims: readonly Dim[], trials: readonly FrozenTrial[], missing = false): Observation[] {
  const keyed: Array<{ key: RankKey; obs: Observation }> = [];
  for (const t of trials) {
    const key = rankKey(t);
    if (!key) continue;
    const x = encodeParams(dims, t.params, missing);
    if (x) keyed.push({ key, obs: { x, age: t.number } });
  }
  keyed.sort((a, b) => compareRankKeys(a.key, b.key) || a.obs.age - b.obs.age);
  return keyed.map((k) => k.obs);
}

export function encodePending(dims: readonly Dim[], pending: readonly Params[], newestAge: number, weight: number, missing = false): Observation[] {
  const out: Observation[] = [];
  for (const p of pending) {
    const x = encodeParams(dims, p, missing);
    if (x) out.push({ x, age: newestAge + 1 + out.length, weight });
  }
  return out;
}

export interface Split { below: Observation[]; above: Observation[] }

/**
 * The best `nBelow` ranked trials form the good group; everything else, liars included, the bad
 * one. With `eliteDims`, the best trial of each value of those categorical dimensions joins the
 * good group too: otherwise one value whose easy region was found first takes the whole good
 * group, and the others, whose good regions lie elsewhere in the numeric parameters, are never
 * refined (the classic way TPE locks onto the wrong optimiser or architecture). At most
 * `nBelow` elites join, the better ones first, so many categories cannot swamp the group.
 */
export function splitObservations(ranked: readonly Observation[], liars: readonly Observation[], nBelow: number, eliteDims: readonly number[] = []): Split {
  const k = Math.min(ranked.length, Math.max(1, nBelow));
  const inBelow = new Set<number>();
  for (let i = 0; i < k; i++) inBelow.add(i);
  const seen = eliteDims.map(() => new Set<number>());
  let elites = 0;
  for (let i = 0; i < ranked.length && elites < k; i++) {
    let elite = false;
    eliteDims.forEach((d, j) => {
      const c = ranked[i]!.x[d]!;
      // A trial without this (conditional) parameter is no elite of it.
      if (!Number.isNaN(c) && !seen[j]!.has(c)) {
        seen[j]!.add(c);
        elite = true;
      }
    });
    if (elite && !inBelow.has(i)) {
      inBelow.add(i);
      elites++;
    }
  }
  const byAge = (a: Observation, b: Observation) => a.age - b.age;
  const below = ranked.filter((_, i) => inBelow.has(i)).sort(byAge);
  const above = [...ranked.filter((_, i) => !inBelow.has(i)), ...liars].sort(byAge);
  return { below, above };
}

/**
 * Optuna's default weights: uniform below 25 observations; beyond, the older ones are ramped
 * down linearly so that the model follows where the search has moved.
 */
export function ageWeights(n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  if (n >= 25) {
    const ramp = n - 25;
    for (let i = 0; i < ramp; i++) w[i] = ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1);
  }
  return w;
}

/** Age weights times each observation's own weight, for observations sorted oldest first. */
export function observationWeights(obs: readonly Observation[]): Float64Array {
  const w = ageWeights(obs.length);
  obs.forEach((o, i) => (w[i] = w[i]! * (o.weight ?? 1)));
  return w;
}
