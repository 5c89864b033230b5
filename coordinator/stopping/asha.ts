/**
 * `asha`: asynchronous successive halving (Li et al. 2020); semantics in halving.ts. With
 * `brackets` > 1, bracket b starts trials at minResource·η^b and trials are dealt to brackets
 * round-robin by trial number, Li et al.'s "looping through brackets".
 */
import { roundRobin } from './brackets.js';
import { halvingRule } from './halving.js';
import { bracketRungs, readHalving, validateHalving } from './halving-settings.js';
import type { StoppingRuleFactory } from './rule.js';

const read = (settings: Record<string, unknown>) => readHalving(settings, () => 1);

export const ashaRule: StoppingRuleFactory = {
  name: 'asha',
  description: 'Asynchronous successive halving: trials stop at rungs minResource·η^k and only the top 1/η of each rung goes on (paused and resumed, or pruned).',
  validate: (settings) => validateHalving(read(settings)),
  create(settings) {
    const h = read(settings);
    return halvingRule({ eta: h.eta, maxResource: h.maxResource, mode: h.mode, rungs: bracketRungs(h), bracketOf: roundRobin(h.brackets) });
  },
};
