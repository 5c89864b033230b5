/**
 * The sampler contract. A sampler is a pure function of (search space, finished trials, pending
 * trials, seeded RNG) -> parameters: it keeps no state between calls, so a restarted
 * coordinator (or another replica) suggests exactly what this one would have.
 */
import type { FieldError } from '../../shared/errors.js';
import type { Rng } from '../../shared/rng.js';
import type { Params, SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';

export interface SamplerContext {
  space: SearchSpace;
  /**
   * Finished trials (COMPLETED, PRUNED, FAILED) in trial-number order. Losses: lower is better.
   * For a factory with a historyWindow, only that window of them.
   */
  trials: readonly FrozenTrial[];
  /** Parameters of trials that are queued or running: suggested but without a result yet. */
  pending: readonly Params[];
  /** Seeded for this trial number alone. */
  rng: Rng;
  /** The number the suggested trial will get (0-based). */
  trialNumber: number;
  /** The study's seed, for study-wide randomness such as a quasi-random sequence's scramble. */
  studySeed?: number;
}

export interface Sampler {
  /** Parameters for the next trial, or null when the search space is exhausted (grid). */
  suggest(ctx: SamplerContext): Params | null;
}

export interface HistoryWindow { best: number; recent: number }

export interface SamplerFactory {
  name: string;
  /** One line for `GET /api/v1/algorithms` and the README. */
  description: string;
  /** Heavy samplers (model fitting) run in the suggestion worker thread, off the event loop. */
  heavy: boolean;
  /** Checked once, at study creation; the fields are relative to `algorithm.settings`. */
  validate(settings: Record<string, unknown>, space: SearchSpace): FieldError[];
  /**
   * The part of the history the sampler reads, when it is not all of it: the `best` best-ranked
   * finished trials (ranking.ts) and the `recent` last finished ones. The runner's HistoryCache
   * keeps only those, so a suggestion costs and holds O(best + recent) however long the study
   * runs. Absent: every finished trial (grid must know every point taken).
   */
  historyWindow?(settings: Record<string, unknown>): HistoryWindow;
  create(settings: Record<string, unknown>, space: SearchSpace): Sampler;
}
