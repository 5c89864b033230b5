/**
 * `hyperband`: asynchronous Hyperband (Li et al. 2020, §3.3), i.e. several ASHA brackets run side
 * by side, bracket b starting trials at minResource·η^b (semantics in halving.ts). By default
 * there is one bracket per possible minimum resource, the last one without rungs (trials run to
 * maxResource, which hedges against rungs that judge too early).
 *
 * `bracketAssignment: "hyperband"` (default) deals trials to brackets in Hyperband's
 * proportions, η^s / (s + 1) for a bracket with s rungs, so that each bracket spends about the
 * same total resource; `"roundRobin"` deals them in turn. Both are functions of the trial number.
 */
import { hyperbandWeighted, roundRobin } from './brackets.js';
import { halvingRule } from './halving.js';
import { bracketRungs, readHalving, validateHalving } from './halving-settings.js';
import type { StoppingRuleFactory } from './rule.js';

const ASSIGNMENTS = ['hyperband', 'roundRobin'] as const;

function read(settings: Record<string, unknown>) {
  const h = readHalving(settings, (maxBrackets) => maxBrackets);
  const assignment = h.r.oneOf('bracketAssignment', 'hyperband', ASSIGNMENTS);
  return { h, assignment };
}

export const hyperbandRule: StoppingRuleFactory = {
  name: 'hyperband',
  description: 'Asynchronous Hyperband: ASHA brackets with minimum resources minResource·η^b side by side, trials dealt to them in Hyperband proportions.',
  validate(settings) {
    return validateHalving(read(settings).h, ['bracketAssignment']);
  },
  create(settings) {
    const { h, assignment } = read(settings);
    const bracketOf = assignment === 'roundRobin' ? roundRobin(h.brackets) : hyperbandWeighted(h.brackets, h.base.length, h.eta);
    return halvingRule({ eta: h.eta, maxResource: h.maxResource, mode: h.mode, rungs: bracketRungs(h), bracketOf });
  },
};
