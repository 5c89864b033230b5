/**
 * A run's document: the one hash layout shared by direct runs (their whole record) and trial
 * runs (what a run has beyond its trial, plus the mirrored fields search reads). Field names are
 * family-prefixed so one HMGET reads whatever a filter needs:
 *   a:<attribute>  name status state start end parent created by note rerunOf points
 *   p:<param>      the value as a string (MLflow's params are strings)
 *   t:<tag>        the effective value (a trial's spec `trial.tags`, then its own)
 *   m:<metric>     the latest value (what a filter or an order compares)
 *   x:<metric>     "step<TAB>timeMs" of that latest point (direct runs; a trial's come from its series)
 */
import type { ParamValue } from '../../shared/search-space.js';

export const F = {
  name: 'a:name', status: 'a:status', state: 'a:state', start: 'a:start', end: 'a:end', parent: 'a:parent', created: 'a:created',
  by: 'a:by', note: 'a:note', rerunOf: 'a:rerunOf', points: 'a:points',
} as const;

export const paramField = (k: string) => `p:${k}`;
export const tagField = (k: string) => `t:${k}`;
export const metricField = (k: string) => `m:${k}`;
export const metricExtraField = (k: string) => `x:${k}`;

/** Fields of one family, prefix removed. */
export function family(h: Record<string, string>, prefix: 'p:' | 't:' | 'm:' | 'x:'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith(prefix)) out[k.slice(2)] = v;
  return out;
}

/**
 * A trial's param as MLflow logs it (`str(value)` in Python): strings verbatim, booleans
 * `True`/`False`, numbers in Python's repr (exponent below 1e-4 and from 1e16: `1e-05`). A float
 * that happens to be integral prints as an integer: the JSON in the trial record cannot tell.
 */
export function mlflowParamString(v: ParamValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mant, exp] = v.toExponential().split('e') as [string, string];
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return String(v);
}

/** Values a document stores never contain NUL: the lex indexes use it as the separator. */
export function hasNul(s: string): boolean {
  return s.includes('\0');
}
