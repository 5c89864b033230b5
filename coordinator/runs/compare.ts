/**
 * Runs side by side (issue 11, `GET /api/v1/runs/compare`, `tunehive compare`): params and tags
 * with the keys whose values differ marked, and a summary of every metric per run.
 *
 * A metric summary reads the run's stored history through `RunStore.metricHistory`, capped: one
 * comparison reads at most `pointBudget` points in all, at most `maxPointsPerMetric` per metric
 * and run. Past the cap the summary is over the newest points (so `lastStep` stays exact) and says
 * `truncated`; `count` is always the true number of points, `latest` always MLflow's latest value.
 */
import type { RunView } from '../../shared/run-model.js';
import { compareStrings } from '../../shared/run-filter/evaluate.js';
import type { RunStore } from './run-store-contract.js';

export const COMPARE_LIMITS = { minRuns: 2, maxRuns: 20, maxMetrics: 100, maxPointsPerMetric: 10_000, minPointsPerMetric: 100, pointBudget: 200_000, page: 1000 } as const;

export interface ValueRow {
  key: string;
  /** One per run, in the order of `runs`; null where the run does not have the key. */
  values: Array<string | null>;
  /** The runs disagree (a run without the key disagrees with one that has it). */
  differs: boolean;
}

export interface MetricSummary {
  latest: number;
  /** The step of the latest value (MLflow's latest: the point with the newest timestamp). */
  latestStep: number;
  min: number;
  max: number;
  /** Points stored (all of them, also when the summary read fewer). */
  count: number;
  /** The step of the last point stored. */
  lastStep: number;
  /** min and max are over the newest `pointsRead` points only. */
  truncated: boolean;
  pointsRead: number;
}

export interface MetricRow {
  key: string;
  runs: Array<MetricSummary | null>;
  /** The runs' latest values differ (or some run lacks the metric). */
  differs: boolean;
}

export interface ComparedRun {
  id: string; name: string; experimentId: string; status: RunView['status']; state: string;
  startTime: number | null; endTime: number | null;
}

export interface Comparison {
  runs: ComparedRun[];
  params: ValueRow[];
  tags: ValueRow[];
  metrics: MetricRow[];
  /** Metric names left out past COMPARE_LIMITS.maxMetrics (sorted; the first ones are kept). */
  metricsLeftOut: number;
}

/** Rows over the union of keys, sorted by code point (the order search uses). */
export function valueRows(records: ReadonlyArray<Record<string, string>>): ValueRow[] {
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) keys.add(k);
  return [...keys].sort(compareStrings).map((key) => {
    const values = records.map((r) => (Object.prototype.hasOwnProperty.call(r, key) ? r[key]! : null));
    return { key, values, differs: values.some((v) => v !== values[0]) };
  });
}

/**
 * A summary from the points read (the newest ones, in stored order) and the true count.
 * `latest` comes from the run view, which holds MLflow's latest value.
 */
export function summarize(points: ReadonlyArray<{ step: number; value: number }>, total: number, latest: { value: number; step: number }): MetricSummary {
  let min = latest.value;
  let max = latest.value;
  for (const p of points) {
    if (p.value < min || Number.isNaN(min)) min = p.value;
    if (p.value > max || Number.isNaN(max)) max = p.value;
  }
  const last = points[points.length - 1];
  return {
    latest: latest.value, latestStep: latest.step, min, max, count: Math.max(total, points.length),
    lastStep: last ? last.step : latest.step, truncated: points.length < total, pointsRead: points.length,
  };
}

/** The metric names compared: the union over the runs, sorted, the first `maxMetrics`. */
export function metricNames(runs: readonly RunView[], maxMetrics: number = COMPARE_LIMITS.maxMetrics): { names: string[]; leftOut: number } {
  const all = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.metrics)) all.add(k);
  const sorted = [...all].sort(compareStrings);
  return { names: sorted.slice(0, maxMetrics), leftOut: Math.max(0, sorted.length - maxMetrics) };
}

/** Points per metric and run so that the whole comparison stays within the budget. */
export function pointsPerMetric(pairs: number): number {
  if (pairs <= 0) return COMPARE_LIMITS.maxPointsPerMetric;
  return Math.max(COMPARE_LIMITS.minPointsPerMetric, Math.min(COMPARE_LIMITS.maxPointsPerMetric, Math.floor(COMPARE_LIMITS.pointBudget / pairs)));
}

export function buildComparison(runs: readonly RunView[], summaries: ReadonlyMap<string, ReadonlyMap<string, MetricSummary>>, names: readonly string[], metricsLeftOut = 0): Comparison {
  const metrics: MetricRow[] = names.map((key) => {
    const row = runs.map((r) => summaries.get(r.id)?.get(key) ?? null);
    const first = row[0] ?? null;
    const differs = row.some((s) => (s === null) !== (first === null) || (s !== null && first !== null && !Object.is(s.latest, first.latest)));
    return { key, runs: row, differs };
  });
  return {
    runs: runs.map((r) => ({ id: r.id, name: r.name, experimentId: r.experimentId, status: r.status, state: r.state, startTime: r.startTime, endTime: r.endTime })),
    params: valueRows(runs.map((r) => r.params)),
    tags: valueRows(runs.map((r) => r.tags)),
    metrics,
    metricsLeftOut,
  };
}

/** Reads the newest `cap` points of one metric of one run, page by page. */
async function readTail(store: Pick<RunStore, 'metricHistory'>, runId: string, name: string, cap: number): Promise<{ total: number; points: Array<{ step: number; value: number }> }> {
  const page = Math.min(COMPARE_LIMITS.page, cap);
  const first = await store.metricHistory(runId, name, { offset: 0, limit: page });
  const total = first.total;
  if (total <= first.points.length) return { total, points: first.points };
  // The newest `cap` points; when they start at 0, the first page is already read.
  let offset = Math.max(0, total - cap);
  const points: Array<{ step: number; value: number }> = offset === 0 ? [...first.points] : [];
  if (offset === 0) offset = first.points.length;
  // Bounded: at most cap / page + 1 reads, and a store that returns nothing ends it.
  while (offset < total && points.length < cap) {
    const r = await store.metricHistory(runId, name, { offset, limit: Math.min(page, cap - points.length) });
    if (r.points.length === 0) break;
    points.push(...r.points);
    offset += r.points.length;
  }
  return { total: Math.max(total, points.length), points };
}

/** Loads the metric summaries of the runs (already read and access-checked) and compares them. */
export async function compareRunViews(store: Pick<RunStore, 'metricHistory'>, runs: readonly RunView[]): Promise<Comparison> {
  const { names, leftOut } = metricNames(runs);
  const pairs = runs.reduce((n, r) => n + names.filter((k) => r.metrics[k] !== undefined).length, 0);
  const cap = pointsPerMetric(pairs);
  const summaries = new Map<string, Map<string, MetricSummary>>();
  await Promise.all(runs.map(async (r) => {
    const m = new Map<string, MetricSummary>();
    summaries.set(r.id, m);
    for (const name of names) {
      const latest = r.metrics[name];
      if (!latest) continue;
      const { total, points } = await readTail(store, r.id, name, cap);
      m.set(name, summarize(points, total, latest));
    }
  }));
  return buildComparison(runs, summaries, names, leftOut);
}
