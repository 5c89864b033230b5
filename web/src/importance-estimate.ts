/**
 * A browser-side stand-in for the server's PED-ANOVA, used only when the coordinator has no
 * importance route: per parameter, the share of the objective's variance explained by binning
 * the parameter (correlation ratio η²), normalised to sum to 1.
 */
import type { Trial } from './study-data.js';

export function importanceEstimate(trials: Trial[], params: string[]): Array<{ param: string; importance: number }> {
  const done = trials.filter((t) => t.state === 'COMPLETED' && t.value !== null);
  if (done.length < 2) return params.map((param) => ({ param, importance: 0 }));
  const mean = done.reduce((s, t) => s + t.value!, 0) / done.length;
  const total = done.reduce((s, t) => s + (t.value! - mean) ** 2, 0) || 1;
  const raw = params.map((param) => {
    const vals = done.map((t) => t.params[param]);
    const nums = vals.filter((v): v is number => typeof v === 'number');
    const lo = Math.min(...nums), hi = Math.max(...nums);
    const bin = (v: unknown) => (typeof v === 'number' && hi > lo ? String(Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 8))) : String(v));
    const groups = new Map<string, { n: number; s: number }>();
    done.forEach((t, i) => { const g = groups.get(bin(vals[i])) ?? { n: 0, s: 0 }; g.n++; g.s += t.value!; groups.set(bin(vals[i]), g); });
    let between = 0;
    for (const g of groups.values()) between += g.n * (g.s / g.n - mean) ** 2;
    return { param, importance: between / total };
  });
  const sum = raw.reduce((s, r) => s + r.importance, 0) || 1;
  return raw.map((r) => ({ param: r.param, importance: r.importance / sum })).sort((a, b) => b.importance - a.importance);
}
