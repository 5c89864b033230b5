/**
 * Pure pieces of the plot endpoints: the optimisation history with its best-so-far line,
 * down-sampled for the screen (min/max per bucket, so no spike or dip disappears), which trials'
 * learning curves to show, and the importance input built from the history.
 */
import type { HistoryEntry } from '../store/study-store.js';
import type { SearchSpace } from '../../shared/search-space.js';
import type { ImportanceInput, ParamDomain } from './ped-anova.js';

export interface HistoryPoint { number: number; value: number; state: string }

/**
 * Trials with a value (completed, and pruned ones at their last value), in number order, with
 * the best-so-far of the completed ones: one point per improvement (a step line needs no more).
 */
export function historyPlot(entries: readonly HistoryEntry[], direction: 'minimize' | 'maximize', maxPoints: number):
  { sampled: boolean; points: HistoryPoint[]; best: Array<{ number: number; value: number }> } {
  const withValue = entries.filter((e) => typeof e.v === 'number' && Number.isFinite(e.v)).sort((a, b) => a.n - b.n);
  const better = (a: number, b: number) => (direction === 'minimize' ? a < b : a > b);
  const best: Array<{ number: number; value: number }> = [];
  for (const e of withValue) {
    if (e.s !== 'COMPLETED') continue;
    if (best.length === 0 || better(e.v!, best.at(-1)!.value)) best.push({ number: e.n, value: e.v! });
  }
  const points = withValue.map((e) => ({ number: e.n, value: e.v!, state: e.s }));
  if (points.length <= maxPoints) return { sampled: false, points, best };
  // Every best-so-far point stays (the line's corners), the rest min/max per bucket.
  const keep = new Set(best.map((b) => b.number));
  return { sampled: true, points: minMaxBuckets(points, Math.max(2, maxPoints - keep.size), keep), best };
}

/** Min and max of each of maxPoints/2 buckets of consecutive points, plus the `keep` ones, in order. */
export function minMaxBuckets<P extends { value: number; number: number }>(points: readonly P[], maxPoints: number, keep: ReadonlySet<number> = new Set()): P[] {
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const chosen = new Set<number>();
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * points.length) / buckets);
    const end = Math.floor(((b + 1) * points.length) / buckets);
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (points[i]!.value < points[lo]!.value) lo = i;
      if (points[i]!.value > points[hi]!.value) hi = i;
    }
    chosen.add(lo).add(hi);
  }
  points.forEach((p, i) => { if (keep.has(p.number)) chosen.add(i); });
  return [...chosen].sort((a, b) => a - b).map((i) => points[i]!);
}

/**
 * Which trials' curves to show: the best completed ones (half of the budget), then the latest
 * trials of any state (live, paused and pruned ones included), each at most once.
 */
export function curveTrials(entries: readonly HistoryEntry[], live: readonly number[], created: number, direction: 'minimize' | 'maximize', count: number): number[] {
  const sign = direction === 'minimize' ? 1 : -1;
  const best = entries.filter((e) => e.s === 'COMPLETED' && typeof e.v === 'number').sort((a, b) => sign * (a.v! - b.v!) || a.n - b.n)
    .slice(0, Math.ceil(count / 2)).map((e) => e.n);
  const chosen = new Set(best);
  for (const n of [...live].sort((a, b) => b - a)) {
    if (chosen.size >= count) break;
    chosen.add(n);
  }
  for (let n = created - 1; n >= 0 && chosen.size < count; n--) chosen.add(n);
  return [...chosen];
}

/**
 * The importance input: completed trials (at most `maxTrials`, evenly spaced in completion order
 * so the work is bounded whatever the study's size), values made lower-is-better.
 */
export function importanceInput(entries: readonly HistoryEntry[], space: SearchSpace, direction: 'minimize' | 'maximize', maxTrials: number): ImportanceInput {
  let done = entries.filter((e) => e.s === 'COMPLETED' && typeof e.v === 'number' && Number.isFinite(e.v));
  if (done.length > maxTrials) done = Array.from({ length: maxTrials }, (_, i) => done[Math.floor((i * done.length) / maxTrials)]!);
  const names = new Set<string>();
  for (const e of done) for (const k of Object.keys(e.p)) names.add(k);
  const params: Record<string, unknown[]> = {};
  const domains: Record<string, ParamDomain> = {};
  for (const name of names) {
    const column = done.map((e) => (e.p as Record<string, unknown>)[name]);
    params[name] = column;
    domains[name] = domainOf(space[name], column);
  }
  return { values: done.map((e) => (direction === 'minimize' ? e.v! : -e.v!)), params, domains };
}

/** The declared domain, or one read off the values (a parameter of a conditional or changed space). */
function domainOf(spec: SearchSpace[string] | undefined, column: readonly unknown[]): ParamDomain {
  if (spec && spec.type === 'categorical') return { kind: 'categorical', choices: spec.values };
  if (spec && (spec.type === 'float' || spec.type === 'int')) return { kind: 'numeric', low: spec.min, high: spec.max, ...(spec.log ? { log: true } : {}) };
  const present = column.filter((v) => v !== undefined && v !== null);
  if (present.length > 0 && present.every((v) => typeof v === 'number')) {
    const nums = present as number[];
    return { kind: 'numeric', low: Math.min(...nums), high: Math.max(...nums) };
  }
  return { kind: 'categorical', choices: [...new Map(present.map((v) => [JSON.stringify(v), v])).values()] };
}
