/**
 * `spec.earlyStopping` -> `earlyStopping`: `medianstop` is Tunehive's `median` rule, whose
 * settings take Katib's names (min_trials_required, start_step: both counts, defaults 3 and 4,
 * as in Katib's service). Any other setting is refused, as Katib's medianstop service refuses it.
 */
import { describe, isObject, katibNumber, MapContext, show } from './context.js';

const SETTINGS: Record<string, { key: string; min: number }> = {
  min_trials_required: { key: 'minTrialsRequired', min: 1 },
  start_step: { key: 'startStep', min: 1 },
};

export function mapEarlyStopping(ctx: MapContext, raw: unknown): { rule: string; settings: Record<string, unknown> } | undefined {
  const at = 'spec.earlyStopping';
  if (!isObject(raw)) {
    ctx.refuse(at, `must be an object {algorithmName, algorithmSettings?} (${describe(raw)})`);
    return undefined;
  }
  ctx.unknownKeys(raw, at, ['algorithmName', 'algorithmSettings']);
  if (raw.algorithmName !== 'medianstop') {
    ctx.refuse(`${at}.algorithmName`, `must be "medianstop", the early-stopping algorithm Katib ships (${describe(raw.algorithmName)})`);
    return undefined;
  }
  ctx.map(`${at}.algorithmName`, 'earlyStopping.rule', 'median');
  const out = { rule: 'median', settings: {} as Record<string, unknown> };
  const list = raw.algorithmSettings ?? [];
  if (!Array.isArray(list)) {
    ctx.refuse(`${at}.algorithmSettings`, `must be a list of {name, value} (${describe(list)})`);
    return out;
  }
  list.forEach((s, i) => {
    const sat = `${at}.algorithmSettings[${i}]`;
    if (!isObject(s) || typeof s.name !== 'string') return ctx.refuse(sat, `must be an object {name, value} (${describe(s)})`);
    ctx.unknownKeys(s, sat, ['name', 'value']);
    const def = Object.hasOwn(SETTINGS, s.name) ? SETTINGS[s.name]! : undefined;
    if (!def) return ctx.refuse(`${sat}.name`, `unknown medianstop setting "${s.name}" (known: ${Object.keys(SETTINGS).join(', ')})`);
    if (typeof s.value !== 'string') return ctx.refuse(`${sat}.value`, `must be a string, as Katib's settings are (write "${String(s.value)}" in quotes)`);
    const n = katibNumber(s.value);
    if (n === undefined || !Number.isInteger(n) || n < def.min) return ctx.refuse(`${sat}.value`, `must be an integer >= ${def.min} (got ${show(s.value)})`);
    out.settings[def.key] = n;
    ctx.map(`${sat}.value`, `earlyStopping.settings.${def.key}`, n);
  });
  for (const [name, def] of Object.entries(SETTINGS)) {
    if (out.settings[def.key] === undefined) ctx.defaulted(`${at}.algorithmSettings(${name})`, `earlyStopping.settings.${def.key}`, def.key === 'minTrialsRequired' ? 3 : 4, 'Katib\'s default');
  }
  return out;
}
