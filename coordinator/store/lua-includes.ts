/**
 * Lua fragments shared by several scripts (as BullMQ's `src/commands/includes`): a script line
 * `--@include <name>` is replaced by the fragment when the script is loaded, so a rule lives in
 * one place instead of a copy per script. Fragments built from TypeScript constants keep the
 * Lua side and the readers in step (the state index's ranks are the ones trialStateScore uses).
 */
import { TRIAL_STATE_RANKS, TRIAL_STATE_SPAN } from '../../shared/redis-keys.js';

const FRAGMENTS: Record<string, string> = {
  /** indexTrialState(indexKey, number, state): the trial's one member of keys.trialStates, at its state's score. */
  trialStateIndex: [
    `local TRIAL_STATE_RANK = {${TRIAL_STATE_RANKS.map((s, i) => `${s} = ${i + 1}`).join(', ')}}`,
    'local function indexTrialState(key, n, state)',
    `  redis.call('ZADD', key, TRIAL_STATE_RANK[state] * ${TRIAL_STATE_SPAN} + tonumber(n), tonumber(n))`,
    'end',
  ].join('\n'),
};

export function expandLuaIncludes(lua: string, script: string): string {
  return lua.replace(/^--@include (\w+)$/gm, (_, name: string) => {
    const f = FRAGMENTS[name];
    if (f === undefined) throw new Error(`${script}.lua includes unknown fragment ${JSON.stringify(name)}`);
    return f;
  });
}
