/**
 * One suggestion, from a plain serialisable request: what the runner calls, and what the
 * suggestion worker thread runs for heavy samplers.
 */
import { createRng, deriveSeed } from '../../shared/rng.js';
import type { Params, SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';
import { samplerFactory } from './registry.js';

export interface SuggestRequest {
  algorithm: { name: string; settings: Record<string, unknown> };
  space: SearchSpace;
  /** The study's seed; each trial's RNG is derived from it and the trial number. */
  seed: number;
  trialNumber: number;
  trials: FrozenTrial[];
  pending: Params[];
}

export function suggestNow(req: SuggestRequest): Params | null {
  const factory = samplerFactory(req.algorithm.name);
  if (!factory) throw new Error(`unknown algorithm ${req.algorithm.name}`);
  const sampler = factory.create(req.algorithm.settings, req.space);
  return sampler.suggest({
    space: req.space,
    trials: req.trials,
    pending: req.pending,
    rng: createRng(deriveSeed(req.seed, req.trialNumber)),
    trialNumber: req.trialNumber,
    studySeed: req.seed,
  });
}

/** Where the runner gets suggestions; the thread-pool implementation keeps heavy samplers off the event loop. */
export interface SuggestionService {
  suggest(req: SuggestRequest): Promise<Params | null>;
  close(): Promise<void>;
}

export class InlineSuggestionService implements SuggestionService {
  async suggest(req: SuggestRequest): Promise<Params | null> {
    return suggestNow(req);
  }
  async close(): Promise<void> {}
}
