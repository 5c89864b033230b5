/**
 * Optuna's `group=True` decomposition of a conditional space: the finest partition of the
 * parameters such that every finished trial's parameter set is a union of parts. Parameters
 * that always occur together (the shared ones; each branch's own ones) form one group, which
 * is then modelled jointly over the trials that have it (Optuna's _SearchSpaceGroup).
 */

/** Groups of dimension indices (each sorted), from the dimension sets of the trials in order. */
export function decomposeGroups(trialDims: Iterable<readonly number[]>): number[][] {
  let groups: Array<Set<number>> = [];
  for (const dims of trialDims) {
    let rest = new Set(dims);
    const next: Array<Set<number>> = [];
    for (const g of groups) {
      const inter = new Set<number>();
      const diff = new Set<number>();
      for (const d of g) (rest.has(d) ? inter : diff).add(d);
      next.push(inter, diff);
      rest = new Set([...rest].filter((d) => !g.has(d)));
    }
    next.push(rest);
    groups = next.filter((g) => g.size > 0);
  }
  return groups.map((g) => [...g].sort((a, b) => a - b));
}
