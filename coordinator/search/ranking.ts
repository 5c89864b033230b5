/**
 * One order on finished trials, best first, for the samplers that rank rather than model values:
 * completed trials by loss; then pruned ones (a trial pruned later was better than one pruned
 * early, so by the last step reached, then by its value there); then trials without a usable
 * value. Failed trials say nothing about the objective and get no rank.
 */
import type { FrozenTrial } from '../../shared/trial.js';

/** [tier, primary, secondary], compared lexicographically; lower is better. */
export type RankKey = readonly [number, number, number];

export function rankKey(t: FrozenTrial): RankKey | null {
  if (t.state === 'COMPLETED') return Number.isFinite(t.loss) ? [0, t.loss!, 0] : [3, 0, 0];
  if (t.state === 'PRUNED') {
    const last = t.intermediate?.filter((iv) => Number.isFinite(iv.value)).at(-1);
    if (last) return [1, -last.step, last.value];
    return Number.isFinite(t.loss) ? [1, 0, t.loss!] : [2, 0, 0];
  }
  return null;
}

export const compareRankKeys = (a: RankKey, b: RankKey): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
