/**
 * The dashboard's pure analysis: PED-ANOVA on functions whose important parameter is known, the
 * history plot's best-so-far and min/max down-sampling, curve choice, and the table's sample.
 */
import { describe, expect, it } from 'vitest';
import { frequencies, kdeOnGrid, pearsonDivergence, pedAnova } from '../../coordinator/analysis/ped-anova.js';
import { curveTrials, historyPlot, importanceInput, minMaxBuckets } from '../../coordinator/analysis/plots.js';
import { sample } from '../../coordinator/analysis/study-table.js';
import type { HistoryEntry } from '../../coordinator/store/study-store.js';
import { createRng } from '../../shared/rng.js';

function trials(n: number, f: (p: Record<string, any>) => number, seed = 1): HistoryEntry[] {
  const rng = createRng(seed);
  const rnd = () => rng.next();
  return Array.from({ length: n }, (_, i) => {
    const p = { x: rnd() * 10 - 5, y: rnd() * 10 - 5, z: rnd(), opt: ['adam', 'sgd', 'rmsprop'][Math.floor(rnd() * 3)]! };
    return { n: i, s: 'COMPLETED' as const, p, v: f(p) };
  });
}
const SPACE = {
  x: { type: 'float' as const, min: -5, max: 5 }, y: { type: 'float' as const, min: -5, max: 5 }, z: { type: 'float' as const, min: 0, max: 1 },
  opt: { type: 'categorical' as const, values: ['adam', 'sgd', 'rmsprop'] },
};
const ranked = (entries: HistoryEntry[], dir: 'minimize' | 'maximize' = 'minimize') => pedAnova(importanceInput(entries, SPACE, dir, 5000));

describe('PED-ANOVA importance', () => {
  it('ranks the one parameter that matters first, far above the others (f = x²)', () => {
    const r = ranked(trials(600, (p) => p.x ** 2));
    expect(r[0]!.param).toBe('x');
    expect(r[0]!.importance).toBeGreaterThan(0.7);
    expect(r.reduce((s, x) => s + x.importance, 0)).toBeCloseTo(1, 9);
    for (const o of r.slice(1)) expect(o.importance).toBeLessThan(0.15);
  });

  it('orders two parameters by their weight (f = 10·(y−1)² + x²), and finds a categorical one', () => {
    const r = ranked(trials(800, (p) => 10 * (p.y - 1) ** 2 + p.x ** 2, 2));
    expect(r.map((x) => x.param).slice(0, 2)).toEqual(['y', 'x']);
    // Within the good category the order is noise that depends on no parameter.
    const c = ranked(trials(600, (p) => (p.opt === 'sgd' ? 0 : 5), 3).map((e, i) => ({ ...e, v: e.v! + ((i * 7919) % 101) / 1000 })));
    expect(c[0]!.param).toBe('opt');
    expect(c[0]!.importance).toBeGreaterThan(0.6);
  });

  it('maximize is minimize of the negation; the same input gives the same answer', () => {
    const t = trials(400, (p) => -(p.x ** 2), 4);
    const r = ranked(t, 'maximize');
    expect(r[0]!.param).toBe('x');
    expect(ranked(t, 'maximize')).toEqual(r);
  });

  it('is flat for a function of nothing, and empty below four trials', () => {
    const noise = trials(600, () => 1, 5).map((e, i) => ({ ...e, v: (i * 7919) % 601 }));
    const r = ranked(noise);
    expect(r[0]!.importance).toBeLessThan(0.6);
    expect(ranked(trials(3, (p) => p.x))).toEqual([]);
  });

  it('Pearson divergence is 0 for equal distributions and grows as the top set narrows', () => {
    const all = kdeOnGrid(Array.from({ length: 200 }, (_, i) => i / 199), 50);
    expect(pearsonDivergence(all, all)).toBeCloseTo(0, 12);
    const wide = kdeOnGrid([0.3, 0.5, 0.7, 0.4, 0.6], 50);
    const narrow = kdeOnGrid([0.5, 0.5, 0.51, 0.49, 0.5], 50);
    expect(pearsonDivergence(narrow, all)).toBeGreaterThan(pearsonDivergence(wide, all));
    expect(frequencies(['a', 'a', 'zzz'], ['a', 'b'])).toEqual([3 / 4, 1 / 4]);
  });

  it('bounds its work: at most maxTrials trials go in, evenly spaced', () => {
    const input = importanceInput(trials(12_000, (p) => p.x ** 2), SPACE, 'minimize', 5000);
    expect(input.values).toHaveLength(5000);
    expect(pedAnova(input)[0]!.param).toBe('x');
  });
});

describe('history plot', () => {
  const entries: HistoryEntry[] = [
    { n: 0, s: 'COMPLETED', p: {}, v: 5 }, { n: 2, s: 'COMPLETED', p: {}, v: 3 }, { n: 1, s: 'FAILED', p: {} },
    { n: 3, s: 'PRUNED', p: {}, v: 1 }, { n: 4, s: 'COMPLETED', p: {}, v: 4 }, { n: 5, s: 'COMPLETED', p: {}, v: 2 },
  ];
  it('best-so-far in number order over completed trials only, one point per improvement', () => {
    const h = historyPlot(entries, 'minimize', 100);
    expect(h.sampled).toBe(false);
    expect(h.points.map((p) => p.number)).toEqual([0, 2, 3, 4, 5]);
    expect(h.best).toEqual([{ number: 0, value: 5 }, { number: 2, value: 3 }, { number: 5, value: 2 }]);
    expect(historyPlot(entries, 'maximize', 100).best).toEqual([{ number: 0, value: 5 }]);
  });
  it('down-samples keeping each bucket’s min and max and every best-so-far point', () => {
    const many: HistoryEntry[] = Array.from({ length: 10_000 }, (_, i) => ({ n: i, s: 'COMPLETED', p: {}, v: i === 7777 ? 1000 : i === 4242 ? -1000 : Math.sin(i) }));
    const h = historyPlot(many, 'minimize', 200);
    expect(h.sampled).toBe(true);
    expect(h.points.length).toBeLessThanOrEqual(200);
    const numbers = h.points.map((p) => p.number);
    expect(numbers).toContain(7777);
    expect(numbers).toContain(4242);
    for (const b of h.best) expect(numbers).toContain(b.number);
    expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
    expect(minMaxBuckets([{ number: 0, value: 1 }], 10)).toHaveLength(1);
  });
});

describe('curves and the table sample', () => {
  it('curves: the best completed first, then the latest (live ones included), each once', () => {
    const e: HistoryEntry[] = [{ n: 0, s: 'COMPLETED', p: {}, v: 1 }, { n: 1, s: 'COMPLETED', p: {}, v: 0.5 }, { n: 2, s: 'PRUNED', p: {}, v: 9 }];
    expect(curveTrials(e, [5], 6, 'minimize', 4)).toEqual([1, 0, 5, 4]);
    expect(curveTrials(e, [], 3, 'minimize', 10).sort()).toEqual([0, 1, 2]);
  });
  it('the stratified sample keeps every live trial and the best ones, and each state in proportion', () => {
    const fin: HistoryEntry[] = Array.from({ length: 30_000 }, (_, i) => ({ n: i, s: i % 3 === 0 ? 'PRUNED' : 'COMPLETED', p: {}, v: (i * 7919) % 30011 }));
    const live = [30_000, 30_001];
    const s = sample(fin, live, 3000, 'minimize');
    expect(s.liveList).toEqual(live);
    expect(s.finished.length + s.liveList.length).toBeLessThanOrEqual(3000);
    expect(s.finished.length).toBeGreaterThan(2900);
    const bestValues = fin.filter((e) => e.s === 'COMPLETED').map((e) => e.v!).sort((a, b) => a - b).slice(0, 299);
    const got = new Set(s.finished.map((e) => e.v));
    for (const v of bestValues) expect(got.has(v)).toBe(true);
    const pruned = s.finished.filter((e) => e.s === 'PRUNED').length;
    expect(pruned / s.finished.length).toBeGreaterThan(0.25);
    expect(new Set(s.finished.map((e) => e.n)).size).toBe(s.finished.length);
  });
});
