import { fromUnit, type Params, type SearchSpace } from '../../shared/search-space.js';
import type { Rng } from '../../shared/rng.js';
import type { SamplerFactory } from './sampler.js';
import { SettingsReader } from './settings.js';

/** One independent uniform draw per parameter (log-uniform where the space says log). */
export function sampleUniform(space: SearchSpace, rng: Rng): Params {
  const params: Params = {};
  for (const [name, p] of Object.entries(space)) params[name] = fromUnit(p, rng.next());
  return params;
}

export const randomSampler: SamplerFactory = {
  name: 'random',
  description: 'Independent uniform (log-uniform where log: true) sampling of every parameter.',
  heavy: false,
  validate: (settings) => new SettingsReader(settings).onlyKnown([]),
  create: () => ({ suggest: ({ space, rng }) => sampleUniform(space, rng) }),
};
