/**
 * The algorithms a study can name. Adding one = writing a SamplerFactory and listing it here.
 */
import type { FieldError } from '../../shared/errors.js';
import type { SearchSpace } from '../../shared/search-space.js';
import { gridSampler } from './grid.js';
import { gpSampler } from './gp/sampler.js';
import { cmaesSampler } from './cmaes.js';
import { randomSampler } from './random.js';
import { sobolSampler } from './sobol.js';
import { tpeSampler } from './tpe.js';
import type { SamplerFactory } from './sampler.js';

const FACTORIES: SamplerFactory[] = [randomSampler, gridSampler, gpSampler, sobolSampler, tpeSampler, cmaesSampler];

export const SAMPLERS: ReadonlyMap<string, SamplerFactory> = new Map(FACTORIES.map((f) => [f.name, f]));

export function samplerFactory(name: string): SamplerFactory | undefined {
  return SAMPLERS.get(name);
}

/** Validates `algorithm` against the registry: the name, then the algorithm's own settings. */
export function validateAlgorithm(name: string, settings: Record<string, unknown>, space: SearchSpace): FieldError[] {
  const f = SAMPLERS.get(name);
  if (!f) return [{ field: 'algorithm.name', reason: `unknown algorithm "${name}" (known: ${[...SAMPLERS.keys()].join(', ')})` }];
  return f.validate(settings, space);
}
