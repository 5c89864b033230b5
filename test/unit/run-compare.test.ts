/**
 * The compare logic (issue 11): params and tags side by side with differing keys marked, metric
 * summaries and the capped history read. The route against the real run store is tested in
 * test/integration/run-compare.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildComparison, COMPARE_LIMITS, compareRunViews, metricNames, pointsPerMetric, summarize, valueRows } from '../../coordinator/runs/compare.js';
import type { RunView } from '../../shared/run-model.js';

function view(id: string, o: Partial<RunView> = {}): RunView {
  return {
    id, experimentId: id.split('.')[0]!, project: 'p', name: `run ${id}`, kind: 'trial', status: 'FINISHED', state: 'COMPLETED',
    startTime: 1, endTime: 2, parentRunId: null, params: {}, metrics: {}, tags: {}, note: '', provenance: null,
    studyId: null, trialNumber: null, rerunOf: null, ...o,
  };
}

describe('valueRows', () => {
  it('unions the keys in code point order and marks those that differ, a missing key included', () => {
    expect(valueRows([{ lr: '0.1', model: 'rf', seed: '1' }, { lr: '0.1', model: 'xgb' }, { lr: '0.1', model: 'rf', Z: 'x' }])).toEqual([
      { key: 'Z', values: [null, null, 'x'], differs: true },
      { key: 'lr', values: ['0.1', '0.1', '0.1'], differs: false },
      { key: 'model', values: ['rf', 'xgb', 'rf'], differs: true },
      { key: 'seed', values: ['1', null, null], differs: true },
    ]);
  });
  it('an empty string is a value, not a missing key', () => {
    expect(valueRows([{ t: '' }, {}])).toEqual([{ key: 't', values: ['', null], differs: true }]);
    expect(valueRows([{ t: '' }, { t: '' }])).toEqual([{ key: 't', values: ['', ''], differs: false }]);
  });
});

describe('summarize', () => {
  it('min, max, count and last step over the points, latest from the run view', () => {
    const pts = [{ step: 0, value: 0.9 }, { step: 1, value: 0.4 }, { step: 2, value: 0.6 }, { step: 3, value: 0.5 }];
    expect(summarize(pts, 4, { value: 0.5, step: 3 })).toEqual({ latest: 0.5, latestStep: 3, min: 0.4, max: 0.9, count: 4, lastStep: 3, truncated: false, pointsRead: 4 });
  });
  it('says truncated when fewer points were read than stored, and keeps the true count', () => {
    expect(summarize([{ step: 8, value: 2 }, { step: 9, value: 1 }], 10, { value: 1, step: 9 })).toMatchObject({ count: 10, truncated: true, pointsRead: 2, min: 1, max: 2, lastStep: 9 });
  });
  it('the latest value (the newest timestamp) need not be the last step stored', () => {
    expect(summarize([{ step: 5, value: 3 }, { step: 2, value: 7 }], 2, { value: 7, step: 2 })).toMatchObject({ latest: 7, latestStep: 2, lastStep: 2, min: 3, max: 7 });
  });
});

describe('metric names and the point budget', () => {
  it('unions and sorts names, keeping the first maxMetrics', () => {
    const runs = [view('e1.1', { metrics: { b: { value: 1, step: 0, timestamp: 0 } } }), view('e1.2', { metrics: { a: { value: 1, step: 0, timestamp: 0 }, c: { value: 1, step: 0, timestamp: 0 } } })];
    expect(metricNames(runs)).toEqual({ names: ['a', 'b', 'c'], leftOut: 0 });
    expect(metricNames(runs, 2)).toEqual({ names: ['a', 'b'], leftOut: 1 });
  });
  it('spreads the budget over the run/metric pairs, within the per-metric bounds', () => {
    expect(pointsPerMetric(1)).toBe(COMPARE_LIMITS.maxPointsPerMetric);
    expect(pointsPerMetric(40)).toBe(5000);
    expect(pointsPerMetric(20 * 100)).toBe(100);
    expect(pointsPerMetric(1_000_000)).toBe(COMPARE_LIMITS.minPointsPerMetric);
  });
});

describe('buildComparison', () => {
  it('marks a metric as differing when latest values differ or a run lacks it', () => {
    const m = (v: number) => ({ value: v, step: 1, timestamp: 1 });
    const runs = [view('e1.1', { metrics: { f1: m(0.9), loss: m(0.2) } }), view('e1.2', { metrics: { f1: m(0.9) } })];
    const s = (v: number) => summarize([{ step: 1, value: v }], 1, { value: v, step: 1 });
    const summaries = new Map([['e1.1', new Map([['f1', s(0.9)], ['loss', s(0.2)]])], ['e1.2', new Map([['f1', s(0.9)]])]]);
    const c = buildComparison(runs, summaries, ['f1', 'loss']);
    expect(c.metrics.map((r) => [r.key, r.differs, r.runs.map((x) => x?.latest ?? null)])).toEqual([['f1', false, [0.9, 0.9]], ['loss', true, [0.2, null]]]);
    expect(c.runs.map((r) => r.id)).toEqual(['e1.1', 'e1.2']);
  });
});

describe('compareRunViews: the capped history read', () => {
  // An in-memory history with RunStore.metricHistory's paging contract (the Redis store's own
  // paging is covered by the run store conformance test); it counts the points handed out.
  function history(n: number) {
    const points = Array.from({ length: n }, (_, i) => ({ step: i, value: i === 3 ? -5 : i, timeMs: i }));
    let served = 0;
    return {
      store: {
        async metricHistory(_runId: string, _name: string, o: { offset: number; limit: number }) {
          const page = points.slice(o.offset, o.offset + o.limit);
          served += page.length;
          return { total: points.length, points: page };
        },
      },
      served: () => served,
    };
  }
  const latest = (n: number) => ({ metrics: { loss: { value: n - 1, step: n - 1, timestamp: n - 1 } } });

  it('reads every point of a short history', async () => {
    const h = history(2500);
    const c = await compareRunViews(h.store, [view('e1.1', latest(2500)), view('e1.2')]);
    expect(c.metrics[0]!.runs[0]).toEqual({ latest: 2499, latestStep: 2499, min: -5, max: 2499, count: 2500, lastStep: 2499, truncated: false, pointsRead: 2500 });
    expect(c.metrics[0]!.runs[1]).toBeNull();
    expect(h.served()).toBe(2500);
  });

  it('past the cap reads only the newest points and says so', async () => {
    const n = COMPARE_LIMITS.maxPointsPerMetric + 5000;
    const h = history(n);
    const c = await compareRunViews(h.store, [view('e1.1', latest(n)), view('e1.2')]);
    expect(c.metrics[0]!.runs[0]).toEqual({ latest: n - 1, latestStep: n - 1, min: 5000, max: n - 1, count: n, lastStep: n - 1, truncated: true, pointsRead: COMPARE_LIMITS.maxPointsPerMetric });
    // The first page (to learn the total) plus the tail.
    expect(h.served()).toBe(COMPARE_LIMITS.page + COMPARE_LIMITS.maxPointsPerMetric);
  });
});
