/** Shared Lua fragments: expanded where a script includes them, generated from the key layout's constants. */
import { describe, expect, it } from 'vitest';
import { expandLuaIncludes } from '../../coordinator/store/lua-includes.js';
import { TRIAL_STATE_RANKS, trialStateScore } from '../../shared/redis-keys.js';
import { TRIAL_STATES } from '../../shared/trial.js';

describe('Lua includes', () => {
  it('the state index ranks are the trial states, in order, and order scores by state then number', () => {
    expect([...TRIAL_STATE_RANKS]).toEqual([...TRIAL_STATES]);
    expect(trialStateScore('RUNNING', 999_999)).toBeLessThan(trialStateScore('COMPLETED', 0));
    expect(() => trialStateScore('DONE', 1)).toThrow(/unknown trial state/);
  });

  it('replaces an include line with the fragment, built from the same ranks', () => {
    const lua = expandLuaIncludes("local x = 1\n--@include trialStateIndex\nindexTrialState(KEYS[1], 3, 'PAUSED')\n", 'demo-1');
    expect(lua).not.toContain('--@include');
    expect(lua).toContain('PAUSED = 6');
    expect(lua).toContain('local function indexTrialState(key, n, state)');
  });

  it('refuses an unknown fragment, naming the script', () => {
    expect(() => expandLuaIncludes('--@include nope\n', 'demo-1')).toThrow(/demo-1\.lua includes unknown fragment "nope"/);
  });
});
