/**
 * Metric batches as columns (MetricColumns in trials.proto): each name once, the numbers in
 * packed lists. Encoding and decoding a point object per point was most of what a point cost
 * the agent and the coordinator; the columns cost a fraction of it. Both ends turn them back
 * into the same points, so every check and store step after the wire is unchanged.
 */
import type { MetricPoint } from './proto.js';
import { UnrecoverableError, WIRE_LIMITS } from './wire-limits.js';

export interface MetricColumnsMsg { names: string[]; nameIndex: number[]; values: number[]; steps: number[]; timesMs: number[] }

export function toColumns(points: readonly MetricPoint[]): MetricColumnsMsg {
  const index = new Map<string, number>();
  const c: MetricColumnsMsg = { names: [], nameIndex: new Array(points.length), values: new Array(points.length), steps: new Array(points.length), timesMs: new Array(points.length) };
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    let k = index.get(p.name);
    if (k === undefined) {
      k = c.names.length;
      index.set(p.name, k);
      c.names.push(p.name);
    }
    c.nameIndex[i] = k;
    c.values[i] = p.value;
    c.steps[i] = p.step;
    c.timesMs[i] = p.timeMs;
  }
  return c;
}

const invalid = (field: string, reason: string) => new UnrecoverableError('TH_ERR_WIRE_INVALID', `${field}: ${reason}`, [{ field, reason }]);

/** The points of a columns batch; refuses columns of different lengths or a name index out of range (checkBatch checks the points). */
export function fromColumns(c: MetricColumnsMsg): MetricPoint[] {
  const n = c.nameIndex.length;
  if (n > WIRE_LIMITS.batchPoints) throw new UnrecoverableError('TH_ERR_WIRE_TOO_LARGE', `metrics.columns: ${n} points in one batch (at most ${WIRE_LIMITS.batchPoints})`, [{ field: 'metrics.columns', reason: `at most ${WIRE_LIMITS.batchPoints} points` }]);
  for (const [field, list] of [['values', c.values], ['steps', c.steps], ['timesMs', c.timesMs]] as const) {
    if (list.length !== n) throw invalid(`metrics.columns.${field}`, `${list.length} entries for ${n} points`);
  }
  if (c.names.length > Math.min(n, WIRE_LIMITS.metricNamesPerTrial)) throw invalid('metrics.columns.names', `${c.names.length} names for ${n} points`);
  const points: MetricPoint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const name = c.names[c.nameIndex[i]!];
    if (name === undefined) throw invalid(`metrics.columns.nameIndex[${i}]`, `${c.nameIndex[i]} is not an index into the ${c.names.length} names`);
    points[i] = { name, value: c.values[i]!, step: c.steps[i]!, timeMs: c.timesMs[i]! };
  }
  return points;
}
