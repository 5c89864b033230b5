/**
 * `spec.parameters` -> `searchSpace`: double -> float, int -> int, categorical -> categorical,
 * discrete -> categorical over its numbers. min/max/step are Katib strings, parsed as numbers;
 * `distribution` uniform (the default) or logUniform (log scale); normal and logNormal are
 * refused (Katib's own Optuna service refuses them too). Katib's validation is applied: double
 * and int need min and max and forbid list; categorical and discrete need list and forbid
 * min/max/step.
 */
import type { ParamSpec, SearchSpace } from '../../shared/search-space.js';
import { describe, isObject, katibNumber, MapContext } from './context.js';

const TYPES = ['double', 'int', 'categorical', 'discrete'] as const;
const SPACE_KEYS = ['min', 'max', 'step', 'list', 'distribution'];

export function mapParameters(ctx: MapContext, raw: unknown, skip: ReadonlySet<string> = new Set()): SearchSpace {
  const space: SearchSpace = {};
  if (!Array.isArray(raw) || raw.length === 0) {
    ctx.refuse('spec.parameters', `must be a non-empty list of parameters (${describe(raw)})`);
    return space;
  }
  raw.forEach((p, i) => {
    const at = `spec.parameters[${i}]`;
    if (!isObject(p)) return ctx.refuse(at, `must be an object {name, parameterType, feasibleSpace} (${describe(p)})`);
    ctx.unknownKeys(p, at, ['name', 'parameterType', 'feasibleSpace']);
    const name = p.name;
    if (typeof name !== 'string' || name === '') return ctx.refuse(`${at}.name`, `must be a parameter name (${describe(name)})`);
    if (Object.hasOwn(space, name)) return ctx.refuse(`${at}.name`, `repeats the parameter "${name}"`);
    if (skip.has(name)) return;
    const mapped = mapOne(ctx, at, p);
    if (mapped) {
      space[name] = mapped;
      ctx.map(at, `searchSpace.${name}`, mapped);
    }
  });
  return space;
}

function mapOne(ctx: MapContext, at: string, p: Record<string, unknown>): ParamSpec | undefined {
  const type = p.parameterType;
  if (!TYPES.includes(type as (typeof TYPES)[number])) {
    ctx.refuse(`${at}.parameterType`, `must be one of ${TYPES.join(', ')} (${describe(type)})`);
    return undefined;
  }
  const fs = p.feasibleSpace;
  if (!isObject(fs)) {
    ctx.refuse(`${at}.feasibleSpace`, `must be an object {min, max, step?} or {list} (${describe(fs)})`);
    return undefined;
  }
  const fat = `${at}.feasibleSpace`;
  ctx.unknownKeys(fs, fat, SPACE_KEYS);
  const dist = fs.distribution ?? 'uniform';
  if (dist === 'normal' || dist === 'logNormal') {
    ctx.refuse(`${fat}.distribution`, `"${dist}" is not supported: Tunehive samples uniformly or log-uniformly between min and max (use uniform or logUniform)`);
    return undefined;
  }
  if (dist !== 'uniform' && dist !== 'logUniform') {
    ctx.refuse(`${fat}.distribution`, `must be uniform or logUniform (${describe(dist)})`);
    return undefined;
  }
  if (type === 'categorical' || type === 'discrete') {
    for (const k of ['min', 'max', 'step']) if (fs[k] !== undefined) ctx.refuse(`${fat}.${k}`, `is not allowed for a ${type} parameter (Katib's rule: it takes list only)`);
    if (dist !== 'uniform') ctx.refuse(`${fat}.distribution`, `applies to double and int parameters only`);
    const list = fs.list;
    if (!Array.isArray(list) || list.length === 0) {
      ctx.refuse(`${fat}.list`, `must be a non-empty list of values (${describe(list)})`);
      return undefined;
    }
    if (type === 'categorical') {
      const bad = list.findIndex((v) => typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean');
      if (bad >= 0) {
        ctx.refuse(`${fat}.list[${bad}]`, `must be a string (${describe(list[bad])})`);
        return undefined;
      }
      return { type: 'categorical', values: list.map(String) };
    }
    const values = list.map(katibNumber);
    const bad = values.findIndex((v) => v === undefined);
    if (bad >= 0) {
      ctx.refuse(`${fat}.list[${bad}]`, `must be a number: discrete values are numeric (${describe(list[bad])})`);
      return undefined;
    }
    return { type: 'categorical', values: values as number[] };
  }
  if (fs.list !== undefined) ctx.refuse(`${fat}.list`, `is not allowed for a ${type} parameter (Katib's rule: it takes min and max)`);
  const num = (k: 'min' | 'max' | 'step'): number | undefined => {
    const v = katibNumber(fs[k]);
    if (fs[k] !== undefined && v === undefined) ctx.refuse(`${fat}.${k}`, `must be a number (${describe(fs[k])})`);
    if (v !== undefined && type === 'int' && !Number.isInteger(v)) {
      ctx.refuse(`${fat}.${k}`, `must be an integer for an int parameter (${describe(fs[k])})`);
      return undefined;
    }
    return v;
  };
  const min = num('min');
  const max = num('max');
  const step = num('step');
  if (fs.min === undefined) ctx.refuse(`${fat}.min`, `is required for a ${type} parameter`);
  if (fs.max === undefined) ctx.refuse(`${fat}.max`, `is required for a ${type} parameter`);
  if (min === undefined || max === undefined || (fs.step !== undefined && step === undefined)) return undefined;
  if (dist === 'logUniform' && step !== undefined) {
    ctx.refuse(`${fat}.step`, 'with distribution logUniform is not supported: Tunehive steps a linear scale only (drop step, or use uniform)');
    return undefined;
  }
  const out = { type: type === 'double' ? 'float' : 'int', min, max } as ParamSpec & { min: number; max: number; step?: number; log?: boolean };
  if (step !== undefined) out.step = step;
  if (dist === 'logUniform') out.log = true;
  return out;
}
