/**
 * The seed each trial program gets as `TUNEHIVE_SEED` (and that its run records): a function
 * of the study's seed (`algorithm.seed`, always stored) and the trial number only, so it is the
 * same on every attempt and every replica, and a rerun can pass the original's on unchanged.
 *
 * The mix is splitmix32's finaliser (Stafford's variant 13 constants, as in shared/rng.ts) over
 * the study seed plus the trial number times the golden-ratio increment: trials 0, 1, 2 of one
 * study, and the same trial of studies with nearby seeds, get unrelated 32-bit seeds.
 *   z = (studySeed + (number + 1) * 0x9e3779b9) mod 2^32
 *   z = (z ^ z >>> 16) * 0x85ebca6b;  z = (z ^ z >>> 13) * 0xc2b2ae35;  seed = z ^ z >>> 16
 */
export function trialSeed(studySeed: number, trialNumber: number): number {
  let z = ((studySeed >>> 0) + Math.imul((trialNumber >>> 0) + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
