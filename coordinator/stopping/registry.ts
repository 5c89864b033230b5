/**
 * The early-stopping rules a study can name. Adding one = writing a StoppingRuleFactory and
 * listing it here.
 */
import type { FieldError } from '../../shared/errors.js';
import type { EarlyStoppingSpec } from '../../shared/study-spec.js';
import { ashaRule } from './asha.js';
import { hyperbandRule } from './hyperband.js';
import { medianRule } from './median.js';
import type { StoppingRule, StoppingRuleFactory } from './rule.js';

const FACTORIES: StoppingRuleFactory[] = [medianRule, ashaRule, hyperbandRule];

export const STOPPING_RULES: ReadonlyMap<string, StoppingRuleFactory> = new Map(FACTORIES.map((f) => [f.name, f]));

export function stoppingRuleFactory(name: string): StoppingRuleFactory | undefined {
  return STOPPING_RULES.get(name);
}

/** Validates `earlyStopping` against the registry: the rule name, then the rule's own settings. */
export function validateEarlyStopping(spec: EarlyStoppingSpec): FieldError[] {
  const f = STOPPING_RULES.get(spec.rule);
  if (!f) return [{ field: 'earlyStopping.rule', reason: `unknown rule "${spec.rule}" (known: ${[...STOPPING_RULES.keys()].join(', ')})` }];
  return f.validate(spec.settings);
}

/** The rule for a validated spec. */
export function createStoppingRule(spec: EarlyStoppingSpec): StoppingRule {
  const f = STOPPING_RULES.get(spec.rule);
  if (!f) throw new Error(`unknown early-stopping rule "${spec.rule}"`);
  return f.create(spec.settings);
}
