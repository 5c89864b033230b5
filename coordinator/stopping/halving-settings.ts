/**
 * Settings shared by `asha` and `hyperband`, read and validated in one place so both rules
 * accept the same names, defaults and limits.
 */
import type { FieldError } from '../../shared/errors.js';
import { SettingsReader } from '../search/settings.js';
import { baseRungs } from './brackets.js';
import type { HalvingMode } from './halving.js';
import { SETTINGS_PREFIX } from './rule.js';

/** More rungs than this means minResource is tiny next to maxResource: almost surely a unit mistake. */
export const MAX_RUNGS = 40;
const MODES: readonly HalvingMode[] = ['pause', 'prune'];
export const HALVING_SETTINGS = ['reductionFactor', 'minResource', 'maxResource', 'brackets', 'mode'] as const;

export interface HalvingSettings {
  r: SettingsReader;
  eta: number;
  minResource: number;
  /** NaN when missing or invalid (an error is recorded). */
  maxResource: number;
  mode: HalvingMode;
  /** Rungs of bracket 0 (empty when maxResource is unusable). */
  base: number[];
  /** Number of brackets; `defaultBrackets` receives the largest allowed (base.length + 1). */
  brackets: number;
}

export function readHalving(settings: Record<string, unknown>, defaultBrackets: (maxBrackets: number) => number): HalvingSettings {
  const r = new SettingsReader(settings, SETTINGS_PREFIX);
  const err = (key: string, reason: string): void => { r.errors.push({ field: `${SETTINGS_PREFIX}.${key}`, reason }); };
  const eta = r.number('reductionFactor', 3, { min: 2, max: 100, int: true });
  const minResource = r.number('minResource', 1, { min: 0, exclusiveMin: true });
  let maxResource = NaN;
  if (settings.maxResource === undefined) err('maxResource', 'is required: the step (epoch, iteration) at which a trial is complete');
  else {
    const before = r.errors.length;
    maxResource = r.number('maxResource', NaN, { min: 0, exclusiveMin: true });
    if (r.errors.length > before) maxResource = NaN;
    else if (maxResource <= minResource) { err('maxResource', `must be greater than minResource (${minResource})`); maxResource = NaN; }
  }
  const mode = r.oneOf('mode', 'pause', MODES);
  let base = Number.isNaN(maxResource) ? [] : baseRungs(minResource, eta, maxResource);
  if (base.length > MAX_RUNGS) {
    err('minResource', `gives ${base.length} rungs below maxResource (at most ${MAX_RUNGS}); raise minResource or reductionFactor`);
    base = [];
  }
  const maxBrackets = base.length + 1;
  const brackets = r.number('brackets', defaultBrackets(maxBrackets), { min: 1, int: true });
  if (base.length > 0 && brackets > maxBrackets) {
    err('brackets', `must be at most ${maxBrackets}: rungs ${base.join(', ')} below maxResource allow ${maxBrackets - 1} brackets with rungs plus one without (got ${brackets})`);
  }
  return { r, eta, minResource, maxResource, mode, base, brackets: Math.min(brackets, maxBrackets) };
}

export function validateHalving(h: HalvingSettings, extraKnown: readonly string[] = []): FieldError[] {
  return h.r.onlyKnown([...HALVING_SETTINGS, ...extraKnown]);
}

/** Rungs per bracket: bracket b starts at base rung b. */
export function bracketRungs(h: HalvingSettings): number[][] {
  if (Number.isNaN(h.maxResource)) throw new Error('successive halving needs a valid maxResource; validate the settings first');
  return Array.from({ length: h.brackets }, (_, b) => h.base.slice(b));
}
