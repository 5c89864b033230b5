/**
 * Bracket geometry for successive halving: where the rungs are, and which bracket a trial
 * number belongs to. Brackets follow from the trial number alone, so nothing about them has to
 * be stored and every replica agrees.
 *
 * Bracket 0 has rungs at minResource·η^k for every k with minResource·η^k < maxResource;
 * bracket b drops the first b of them (its trials start at minResource·η^b). maxResource is not
 * a rung but the end: a trial promoted past a bracket's last rung runs to maxResource and
 * completes. So with K base rungs there are K + 1 possible brackets, the last one having no
 * rung at all (every trial runs to maxResource: plain search, Hyperband's s = 0 bracket).
 */

/** Decision budgets of bracket 0, ascending, all < maxResource. */
export function baseRungs(minResource: number, eta: number, maxResource: number): number[] {
  const rungs: number[] = [];
  // Repeated multiplication keeps integer budgets exact (Math.pow(3, 5) is, but r * 1.5 ** k is not reliably).
  for (let b = minResource; b < maxResource; b *= eta) rungs.push(b);
  return rungs;
}

export type BracketOf = (trialNumber: number) => number;

export const roundRobin = (brackets: number): BracketOf => (n) => n % brackets;

/**
 * Hyperband's allocation: bracket b (s = K - b halvings) gets a share proportional to
 * η^s / (s + 1), the n_s = ⌈(s_max + 1) / (s + 1) · η^s⌉ of Li et al. (2018) without the
 * rounding, which gives every bracket about the same total resource.
 */
export function hyperbandShares(brackets: number, baseRungCount: number, eta: number): number[] {
  const w = Array.from({ length: brackets }, (_, b) => eta ** (baseRungCount - b) / (baseRungCount - b + 1));
  const total = w.reduce((a, x) => a + x, 0);
  return w.map((x) => x / total);
}

/**
 * Trial n goes to the bracket whose slice of [0, 1) (sized by its Hyperband share) holds
 * frac(n·φ⁻¹): a Weyl sequence, so brackets interleave evenly from the first trials on instead
 * of filling one after another, and no counter has to be kept.
 */
export function hyperbandWeighted(brackets: number, baseRungCount: number, eta: number): BracketOf {
  const bounds: number[] = [];
  let acc = 0;
  for (const share of hyperbandShares(brackets, baseRungCount, eta)) bounds.push((acc += share));
  return (n) => {
    const u = (n * INV_PHI) % 1;
    const b = bounds.findIndex((x) => u < x);
    return b === -1 ? brackets - 1 : b; // float rounding can leave the last bound just under 1
  };
}

const INV_PHI = (Math.sqrt(5) - 1) / 2;
