/**
 * Parameter importance by PED-ANOVA (Watanabe et al., "PED-ANOVA: Efficiently Quantifying
 * Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023), as Optuna's
 * PedAnovaImportanceEvaluator computes it: for each parameter, how far its distribution among
 * the top-γ trials is from its distribution among all trials, measured as the Pearson
 * divergence ∫ (p_top(x) / p_all(x) − 1)² p_all(x) dx. A parameter whose good values look like
 * any values does not matter; one whose good values crowd into a corner does.
 *
 * Numerical parameters: Gaussian kernel density (Scott's bandwidth) on a 50-point grid over the
 * parameter's domain (log-scaled for log parameters). Categorical ones: category frequencies
 * with one pseudo-count each (so an unseen category does not divide by zero). Importances are
 * γ² · divergence (the paper's local HPI), normalised to sum to 1. Pure: no I/O, deterministic;
 * the cost is O(trials · parameters · 50).
 */
export type ParamDomain =
  | { kind: 'numeric'; low: number; high: number; log?: boolean }
  | { kind: 'categorical'; choices: readonly unknown[] };

export interface ImportanceInput {
  /** Objective values; lower is better (negate for maximize before calling). */
  values: readonly number[];
  /** Per parameter name, its value in each trial (same order as values; undefined when absent). */
  params: Readonly<Record<string, readonly unknown[]>>;
  domains: Readonly<Record<string, ParamDomain>>;
}

export const PED_ANOVA = { targetQuantile: 0.1, gridSteps: 50, minTop: 2, minTrials: 4 } as const;

/** Normalised importances, highest first ([] with fewer than minTrials trials). */
export function pedAnova(input: ImportanceInput, quantile: number = PED_ANOVA.targetQuantile): Array<{ param: string; importance: number }> {
  const n = input.values.length;
  if (n < PED_ANOVA.minTrials) return [];
  const order = [...input.values.keys()].sort((a, b) => input.values[a]! - input.values[b]! || a - b);
  const topCount = Math.min(n - 1, Math.max(PED_ANOVA.minTop, Math.ceil(quantile * n)));
  const top = order.slice(0, topCount);
  const gamma = topCount / n;
  const raw: Array<{ param: string; importance: number }> = [];
  for (const [name, column] of Object.entries(input.params)) {
    const domain = input.domains[name];
    if (!domain) continue;
    const all = [...column.keys()].filter((i) => column[i] !== undefined && column[i] !== null);
    const topHere = top.filter((i) => column[i] !== undefined && column[i] !== null);
    if (all.length < PED_ANOVA.minTrials || topHere.length < 1) {
      raw.push({ param: name, importance: 0 });
      continue;
    }
    const [pTop, pAll] = domain.kind === 'numeric'
      ? [kdeOnGrid(topHere.map((i) => scaled(column[i], domain)), PED_ANOVA.gridSteps), kdeOnGrid(all.map((i) => scaled(column[i], domain)), PED_ANOVA.gridSteps)]
      : [frequencies(topHere.map((i) => column[i]), domain.choices), frequencies(all.map((i) => column[i]), domain.choices)];
    raw.push({ param: name, importance: gamma * gamma * pearsonDivergence(pTop, pAll) });
  }
  const sum = raw.reduce((s, r) => s + r.importance, 0);
  return raw.map((r) => ({ param: r.param, importance: sum > 0 ? r.importance / sum : 0 }))
    .sort((a, b) => b.importance - a.importance || (a.param < b.param ? -1 : 1));
}

/** A value in [0, 1] over its domain (log domains on the log scale). */
function scaled(v: unknown, d: Extract<ParamDomain, { kind: 'numeric' }>): number {
  const x = Number(v);
  const [lo, hi, t] = d.log && d.low > 0 ? [Math.log(d.low), Math.log(d.high), Math.log(Math.max(x, d.low))] : [d.low, d.high, x];
  if (!(hi > lo)) return 0.5;
  return Math.min(1, Math.max(0, (t - lo) / (hi - lo)));
}

/** A Gaussian KDE of points in [0, 1] evaluated at the grid's bin centres, normalised to sum 1. */
export function kdeOnGrid(points: readonly number[], steps: number): number[] {
  const n = points.length;
  const mean = points.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(points.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, n - 1));
  // Scott's rule, floored at one grid step so that identical points still make a bump.
  const h = Math.max(1.059 * sd * n ** -0.2, 1 / steps);
  const out = new Array<number>(steps).fill(0);
  for (let g = 0; g < steps; g++) {
    const x = (g + 0.5) / steps;
    let s = 0;
    for (const p of points) s += Math.exp(-0.5 * ((x - p) / h) ** 2);
    out[g] = s + 1e-12;
  }
  return normalise(out);
}

/** Category frequencies with one pseudo-count each, normalised. */
export function frequencies(values: readonly unknown[], choices: readonly unknown[]): number[] {
  const index = new Map(choices.map((c, i) => [JSON.stringify(c), i]));
  const counts = new Array<number>(choices.length).fill(1);
  for (const v of values) {
    const i = index.get(JSON.stringify(v));
    if (i !== undefined) counts[i]! += 1;
  }
  return normalise(counts);
}

/** Σ p_all · (p_top / p_all − 1)², both distributions over the same grid. */
export function pearsonDivergence(pTop: readonly number[], pAll: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < pAll.length; i++) d += pAll[i]! * (pTop[i]! / pAll[i]! - 1) ** 2;
  return d;
}

function normalise(a: number[]): number[] {
  const s = a.reduce((x, y) => x + y, 0);
  return a.map((x) => x / s);
}
