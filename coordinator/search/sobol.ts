/**
 * Scrambled Sobol quasi-random sampling. Trial number n takes point n of the sequence (Gray-code
 * order, as Joe & Kuo and scipy generate it), so the sampler needs no state: any replica computes
 * the same point for the same trial. Scrambling is a linear matrix scramble plus a random digital
 * shift (Matousek), which keeps the sequence's (t, s) net structure while removing the lattice
 * artefacts of the plain sequence (such as point 0 being the corner of the box).
 */
import { createRng, deriveSeed } from '../../shared/rng.js';
import { sampleActive } from '../../shared/conditional-space.js';
import { fromUnit, type SearchSpace } from '../../shared/search-space.js';
import type { SamplerContext, SamplerFactory } from './sampler.js';
import { SettingsReader } from './settings.js';
import { JOE_KUO_DIRECTIONS } from './sobol-directions.js';

const BITS = 32;
export const SOBOL_MAX_DIMS = JOE_KUO_DIRECTIONS.length + 1;

/** The 32 direction numbers of one dimension, as 32-bit integers (bit 31 = the 1/2 digit). */
export function directionNumbers(dim: number): Uint32Array {
  const v = new Uint32Array(BITS);
  if (dim === 0) {
    for (let k = 0; k < BITS; k++) v[k] = (1 << (BITS - 1 - k)) >>> 0;
    return v;
  }
  const row = JOE_KUO_DIRECTIONS[dim - 1];
  if (!row) throw new Error(`Sobol direction numbers are bundled for ${SOBOL_MAX_DIMS} dimensions, not ${dim + 1}`);
  const poly = row[0]!;
  const s = Math.floor(Math.log2(poly));
  const m = new Array<number>(BITS);
  for (let k = 0; k < s; k++) m[k] = row[k + 1]!;
  // Bratley & Fox recurrence: m_k = 2 a_1 m_{k-1} ^ 4 a_2 m_{k-2} ^ ... ^ 2^s m_{k-s} ^ m_{k-s}.
  for (let k = s; k < BITS; k++) {
    let x = m[k - s]! ^ (m[k - s]! * 2 ** s);
    for (let i = 1; i < s; i++) if ((poly >> (s - i)) & 1) x ^= m[k - i]! * 2 ** i;
    m[k] = x;
  }
  for (let k = 0; k < BITS; k++) v[k] = (m[k]! * 2 ** (BITS - 1 - k)) >>> 0;
  return v;
}

function parity(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}

/**
 * Applies a random lower-triangular (unit diagonal) binary matrix to every direction number:
 * digit r of the result mixes digits 0..r of the input, so the scramble never lets a finer
 * digit disturb a coarser one and the net property survives.
 */
function linearScramble(v: Uint32Array, seed: number): Uint32Array {
  const rng = createRng(seed);
  const rows = new Uint32Array(BITS);
  for (let r = 0; r < BITS; r++) {
    let mask = (1 << (BITS - 1 - r)) >>> 0;
    for (let c = 0; c < r; c++) if (rng.next() < 0.5) mask = (mask | (1 << (BITS - 1 - c))) >>> 0;
    rows[r] = mask;
  }
  const out = new Uint32Array(BITS);
  for (let k = 0; k < BITS; k++) {
    let x = 0;
    for (let r = 0; r < BITS; r++) if (parity(v[k]! & rows[r]!)) x |= 1 << (BITS - 1 - r);
    out[k] = x >>> 0;
  }
  return out;
}

/** A generator of points of a (possibly scrambled) Sobol sequence in [0, 1)^dims, by index. */
export class SobolSequence {
  private readonly dirs: Uint32Array[];
  private readonly shift: Uint32Array;

  constructor(readonly dims: number, scrambleSeed: number | null) {
    this.dirs = [];
    this.shift = new Uint32Array(dims);
    const shiftRng = createRng(deriveSeed(scrambleSeed ?? 0, 0x5b1f7));
    for (let d = 0; d < dims; d++) {
      const v = directionNumbers(d);
      this.dirs.push(scrambleSeed === null ? v : linearScramble(v, deriveSeed(scrambleSeed, d, 0x1a5)));
      if (scrambleSeed !== null) this.shift[d] = Math.floor(shiftRng.next() * 2 ** BITS) >>> 0;
    }
  }

  point(index: number): number[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** BITS) throw new Error(`Sobol index out of range: ${index}`);
    // Gray-code order: index n takes the XOR of the direction numbers of the set bits of n ^ (n >> 1).
    const gray = index ^ Math.floor(index / 2);
    const x = Array.from(this.shift);
    for (let d = 0; d < this.dims; d++) {
      let acc = x[d]!;
      for (let k = 0, g = gray; g > 0; k++, g = Math.floor(g / 2)) if (g % 2 === 1) acc ^= this.dirs[d]![k]!;
      x[d] = acc >>> 0;
    }
    // Centre each point in its 2^-32 cell so no coordinate is exactly 0.
    return x.map((b) => (b + 0.5) / 2 ** BITS);
  }
}

function read(settings: Record<string, unknown>) {
  const r = new SettingsReader(settings);
  const scramble = r.boolean('scramble', true);
  const seed = settings.seed === undefined ? undefined : r.number('seed', 0, { min: 0, max: 2 ** 32 - 1, int: true });
  return { r, scramble, seed };
}

/** A seed that depends only on the space, for when neither the study nor the settings give one. */
function spaceSeed(space: SearchSpace): number {
  const text = JSON.stringify(space);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The scramble must be the same for every trial of a study, so it cannot come from the per-trial
 * RNG. Order of preference: the `seed` setting, the study seed when the context carries one
 * (`studySeed`), then a hash of the space (deterministic, but the same for every study of that space).
 */
export function scrambleSeedFor(ctx: SamplerContext, settingSeed: number | undefined): number {
  if (settingSeed !== undefined) return settingSeed;
  const studySeed = ctx.studySeed;
  return typeof studySeed === 'number' ? deriveSeed(studySeed, 0x50b0) : spaceSeed(ctx.space);
}

export const sobolSampler: SamplerFactory = {
  name: 'sobol',
  description: `Scrambled Sobol quasi-random sampling (Joe-Kuo directions, up to ${SOBOL_MAX_DIMS} parameters); better coverage than random for the same budget.`,
  heavy: false,
  validate(settings, space) {
    const { r } = read(settings);
    const errors = r.onlyKnown(['scramble', 'seed']);
    const dims = Object.keys(space).length;
    if (dims > SOBOL_MAX_DIMS) {
      errors.push({ field: 'searchSpace', reason: `sobol supports at most ${SOBOL_MAX_DIMS} parameters (Joe-Kuo direction numbers are bundled for ${SOBOL_MAX_DIMS} dimensions); this space has ${dims}: use random or tpe` });
    }
    return errors;
  },
  create(settings, space) {
    const { scramble, seed } = read(settings);
    const names = Object.keys(space);
    const dimOf = new Map(names.map((name, d) => [name, d]));
    return {
      suggest(ctx) {
        const seq = new SobolSequence(names.length, scramble ? scrambleSeedFor(ctx, seed) : null);
        const u = seq.point(ctx.trialNumber);
        // Every parameter keeps its own dimension (declaration order), active or not: a branch's
        // parameters then cover their box as evenly as the sequence does, whatever the parents chose.
        return sampleActive(space, (name, p) => fromUnit(p, u[dimOf.get(name)!]!));
      },
    };
  },
};
