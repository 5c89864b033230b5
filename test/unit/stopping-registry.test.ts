import { describe, expect, it } from 'vitest';
import { createStoppingRule, STOPPING_RULES, stoppingRuleFactory, validateEarlyStopping } from '../../coordinator/stopping/registry.js';

describe('early-stopping registry', () => {
  it('lists median, asha and hyperband', () => {
    expect([...STOPPING_RULES.keys()]).toEqual(['median', 'asha', 'hyperband']);
    for (const f of STOPPING_RULES.values()) expect(f.description.length).toBeGreaterThan(20);
    expect(stoppingRuleFactory('asha')?.name).toBe('asha');
    expect(stoppingRuleFactory('nope')).toBeUndefined();
  });

  it('rejects an unknown rule, naming the known ones', () => {
    expect(validateEarlyStopping({ rule: 'medianstop', settings: {} })).toEqual([
      { field: 'earlyStopping.rule', reason: 'unknown rule "medianstop" (known: median, asha, hyperband)' },
    ]);
    expect(() => createStoppingRule({ rule: 'medianstop', settings: {} })).toThrow(/unknown/);
  });

  it('passes settings to the rule for validation', () => {
    expect(validateEarlyStopping({ rule: 'median', settings: {} })).toEqual([]);
    expect(validateEarlyStopping({ rule: 'asha', settings: { maxResource: 9, typo: 1 } })).toEqual([
      { field: 'earlyStopping.settings.typo', reason: expect.stringContaining('unknown setting') },
    ]);
    expect(validateEarlyStopping({ rule: 'hyperband', settings: {} }).map((e) => e.field)).toEqual(['earlyStopping.settings.maxResource']);
  });

  it('creates a rule only multi-fidelity rules give nextWork to', () => {
    expect(createStoppingRule({ rule: 'median', settings: {} }).nextWork).toBeUndefined();
    expect(createStoppingRule({ rule: 'asha', settings: { maxResource: 9 } }).nextWork).toBeTypeOf('function');
    expect(() => createStoppingRule({ rule: 'asha', settings: {} })).toThrow(/maxResource/);
  });
});

describe('what rules read of their peers', () => {
  it('declares it, so the decider reads only that', () => {
    expect(createStoppingRule({ rule: 'median', settings: {} }).needsPeers).toBe('completedAverages');
    expect(createStoppingRule({ rule: 'asha', settings: { maxResource: 9 } }).needsPeers).toBe('none');
    expect(createStoppingRule({ rule: 'asha', settings: { maxResource: 9, mode: 'prune' } }).needsPeers).toBe('rungRanks');
    expect(createStoppingRule({ rule: 'hyperband', settings: { maxResource: 9, mode: 'prune' } }).needsPeers).toBe('rungRanks');
  });
});
