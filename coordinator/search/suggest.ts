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

/**
 * Suggestions for `count` consecutive trial numbers from `req.trialNumber` on, each seeing the
 * earlier ones as pending (what `count` single requests would give); shorter once the space is
 * exhausted.
 */
export function suggestManyNow(req: SuggestRequest, count: number): Params[] {
  const out: Params[] = [];
  const pending = [...req.pending];
  for (let i = 0; i < count; i++) {
    const params = suggestNow({ ...req, trialNumber: req.trialNumber + i, pending: [...pending] });
    if (params === null) break;
    out.push(params);
    pending.push(params);
  }
  return out;
}

/** Where the runner gets suggestions; the thread-pool implementation keeps heavy samplers off the event loop. */
export interface SuggestionService {
  suggest(req: SuggestRequest): Promise<Params | null>;
  /** As suggestManyNow, in one request (one copy of the history to a thread instead of `count`). */
  suggestMany?(req: SuggestRequest, count: number): Promise<Params[]>;
  close(): Promise<void>;
}

export class InlineSuggestionService implements SuggestionService {
  async suggest(req: SuggestRequest): Promise<Params | null> {
    return suggestNow(req);
  }
  async suggestMany(req: SuggestRequest, count: number): Promise<Params[]> {
    return suggestManyNow(req, count);
  }
  async close(): Promise<void> {}
}
