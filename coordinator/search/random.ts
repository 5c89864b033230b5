import { sampleActive } from '../../shared/conditional-space.js';
import { fromUnit, type Params, type SearchSpace } from '../../shared/search-space.js';
import type { Rng } from '../../shared/rng.js';
import type { SamplerFactory } from './sampler.js';
import { SettingsReader } from './settings.js';

/**
 * One independent uniform draw per active parameter (log-uniform where the space says log),
 * parents first, so a conditional parameter is drawn only when its branch was chosen.
 */
export function sampleUniform(space: SearchSpace, rng: Rng): Params {
  return sampleActive(space, (_, p) => fromUnit(p, rng.next()));
}

export const randomSampler: SamplerFactory = {
  name: 'random',
  description: 'Independent uniform (log-uniform where log: true) sampling of every active parameter.',
  heavy: false,
  validate: (settings) => new SettingsReader(settings).onlyKnown([]),
  // Reads no history: nothing is cached for it.
  historyWindow: () => ({ best: 0, recent: 0 }),
  create: () => ({ suggest: ({ space, rng }) => sampleUniform(space, rng) }),
};
