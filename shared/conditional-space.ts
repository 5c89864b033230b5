/**
 * Conditional search spaces: which parameters a trial has. A parameter with
 * `when: {parent: value | [values], ...}` exists in a trial only when every parent is itself
 * active and holds one of the listed values; parents are categorical, so the categorical values
 * of a trial decide everything. This is the one place that answers "is X active?": every
 * sampler, the spec validation, ask/tell and the worker's substitution go through it.
 */
import type { FieldError } from './errors.js';
import { contains, type Condition, type ParamSpec, type ParamValue, type Params, type SearchSpace } from './search-space.js';

/** The values a `when` entry admits (one value or a list). */
export function whenValues(v: Condition[string]): readonly ParamValue[] {
  return Array.isArray(v) ? v : [v as ParamValue];
}

const allowedSets = new WeakMap<readonly ParamValue[], Set<ParamValue>>();

/**
 * Whether a `when` entry admits v. Lists may hold 10,000 values: long ones are looked up in a
 * Set built once per list (Set equality is ===, as the values are JSON: no NaN).
 */
export function admits(allowed: Condition[string], v: ParamValue | undefined): boolean {
  if (!Array.isArray(allowed)) return allowed === v;
  if (allowed.length <= 8) return allowed.some((c) => c === v);
  let set = allowedSets.get(allowed);
  if (!set) allowedSets.set(allowed, (set = new Set(allowed)));
  return v !== undefined && set.has(v);
}

export function isConditional(space: SearchSpace): boolean {
  return Object.values(space).some((p) => p.when !== undefined);
}

const orders = new WeakMap<SearchSpace, readonly string[]>();

/**
 * Parameters with parents before children: each parameter is followed at once by those of its
 * dependents whose parents are then all placed (depth first, in declaration order), otherwise
 * declaration order. A space without conditions keeps its own order, so samplers draw exactly
 * what they drew before conditions existed; and a branch's parameters sit right after the
 * choice that opens it, which keeps the grid's branch counting small (grid-conditional.ts: a
 * parent whose dependents all came long after it would multiply the states to count).
 * n <= 100, so the quadratic scans are nothing. Parameters on a cycle (only in a space that
 * never passed validation) come last.
 */
export function conditionOrder(space: SearchSpace): readonly string[] {
  const cached = orders.get(space);
  if (cached) return cached;
  const names = Object.keys(space);
  const placed = new Set<string>();
  const order: string[] = [];
  const ready = (name: string) => !placed.has(name) && Object.keys(space[name]!.when ?? {}).every((p) => placed.has(p) || !Object.hasOwn(space, p));
  const place = (name: string): void => {
    placed.add(name);
    order.push(name);
    for (const child of names) if (space[child]!.when && Object.hasOwn(space[child]!.when!, name) && ready(child)) place(child);
  };
  for (let progress = true; progress && order.length < names.length;) {
    progress = false;
    for (const name of names) {
      if (ready(name)) {
        place(name);
        progress = true;
      }
    }
  }
  for (const name of names) if (!placed.has(name)) order.push(name);
  const frozen = Object.freeze(order);
  orders.set(space, frozen);
  return frozen;
}

/** Whether `p`'s own condition holds, given which parameters are active and their values. */
export function conditionHolds(p: ParamSpec, active: ReadonlySet<string>, params: Params): boolean {
  if (!p.when) return true;
  for (const [parent, allowed] of Object.entries(p.when)) {
    if (!active.has(parent) || !Object.hasOwn(params, parent)) return false;
    if (!admits(allowed, params[parent])) return false;
  }
  return true;
}

/**
 * The names of the parameters active under `params` (the values of the categorical parents
 * decide; a parameter's own value, present or not, does not). Values of inactive parents are
 * ignored, so a full assignment from a sampler's model and a trial's real params agree.
 */
export function activeNames(space: SearchSpace, params: Params): Set<string> {
  const active = new Set<string>();
  for (const name of conditionOrder(space)) if (conditionHolds(space[name]!, active, params)) active.add(name);
  return active;
}

/** `params` restricted to its active parameters: what a trial records and a program sees. */
export function activeParams(space: SearchSpace, params: Params): Params {
  const active = activeNames(space, params);
  const out: Params = {};
  for (const name of conditionOrder(space)) if (active.has(name) && Object.hasOwn(params, name)) out[name] = params[name]!;
  return out;
}

/**
 * Builds a trial's params parents first: `value(name)` is called only for parameters that are
 * active given the values chosen so far, in conditionOrder. Random, Sobol and the model-based
 * samplers' fallbacks all sample this way, so no inactive parameter costs a draw.
 */
export function sampleActive(space: SearchSpace, value: (name: string, p: ParamSpec) => ParamValue): Params {
  const active = new Set<string>();
  const params: Params = {};
  for (const name of conditionOrder(space)) {
    const p = space[name]!;
    if (!conditionHolds(p, active, params)) continue;
    active.add(name);
    params[name] = value(name, p);
  }
  return params;
}

/** "model_type is random_forest and booster is one of gbtree, dart", for error messages. */
export function describeCondition(when: Condition): string {
  return Object.entries(when).map(([parent, v]) => {
    const vs = whenValues(v);
    return vs.length === 1 ? `${parent} is ${JSON.stringify(vs[0])}` : `${parent} is one of ${vs.map((x) => JSON.stringify(x)).join(', ')}`;
  }).join(' and ');
}

/**
 * Checks a trial's params against the space: exactly its active parameters, each with a legal
 * value (used for told params). Fields are `<at>.<name>`.
 */
export function paramsProblems(space: SearchSpace, params: Params, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const active = activeNames(space, params);
  for (const [name, v] of Object.entries(params)) {
    const p = Object.hasOwn(space, name) ? space[name] : undefined;
    if (!p) errors.push({ field: `${at}.${name}`, reason: 'is not a parameter of the search space' });
    else if (!active.has(name)) errors.push({ field: `${at}.${name}`, reason: `is inactive for these params: it applies only when ${describeCondition(p.when!)}` });
    else if (!contains(p, v)) errors.push({ field: `${at}.${name}`, reason: `${JSON.stringify(v)} is not a value of this parameter` });
  }
  for (const name of conditionOrder(space)) {
    if (active.has(name) && !Object.hasOwn(params, name)) {
      const cond = space[name]!.when;
      errors.push({ field: `${at}.${name}`, reason: `is missing: it is active${cond ? ` (${describeCondition(cond)})` : ''}` });
    }
  }
  return errors;
}

/**
 * The checks of the `when` clauses that a schema cannot make, for the parameters that passed
 * their own schema (`space`); `declared` holds every name in the spec's searchSpace, valid or
 * not, so a parent with its own error is not also called unknown.
 */
export function conditionErrors(space: SearchSpace, declared: ReadonlySet<string>, at = 'searchSpace'): FieldError[] {
  const errors: FieldError[] = [];
  const names = Object.keys(space);
  for (const name of names) {
    const when = space[name]!.when;
    if (!when) continue;
    for (const [parent, allowed] of Object.entries(when)) {
      const field = `${at}.${name}.when.${parent}`;
      if (parent === name) {
        errors.push({ field, reason: 'a parameter cannot depend on itself' });
        continue;
      }
      if (!declared.has(parent)) {
        errors.push({ field, reason: `names "${parent}", which is not in searchSpace` });
        continue;
      }
      const p = Object.hasOwn(space, parent) ? space[parent]! : undefined;
      if (!p) continue; // the parent has its own error
      if (p.type !== 'categorical') {
        errors.push({ field, reason: `"${parent}" is ${p.type === 'int' ? 'an int' : 'a float'}: only categorical parameters can be parents` });
        continue;
      }
      const vs = whenValues(allowed);
      const values = new Set(p.values);
      // One error per entry, at its first bad value: a list of 10,000 wrong values is one mistake.
      const bad = vs.flatMap((v, i) => (values.has(v) ? [] : [i]));
      if (bad.length > 0) {
        const first = bad[0]!;
        const more = bad.length > 1 ? ` (and ${bad.length - 1} more of the listed values)` : '';
        errors.push({ field: Array.isArray(allowed) ? `${field}[${first}]` : field, reason: `${JSON.stringify(vs[first]).slice(0, 100)} is not a value of "${parent}"${more} (values: ${p.values.map((x) => JSON.stringify(x)).join(', ').slice(0, 300)})` });
      }
      if (new Set(vs).size !== vs.length) errors.push({ field, reason: 'must not repeat a value' });
    }
  }
  const cycles = cycleErrors(space, at);
  errors.push(...cycles);
  if (errors.length === 0) errors.push(...unreachableErrors(space, at));
  if (names.length > 0 && names.every((n) => space[n]!.when !== undefined)) {
    errors.push({ field: at, reason: 'every parameter has a "when": at least one must be unconditional, or no trial could have any parameter' });
  }
  return errors;
}

/** Assignments of ancestors tried per parameter before the reachability check gives up (and accepts). */
const REACH_BUDGET = 20_000;

/**
 * Parameters no trial can ever have: conditions that contradict their parents' own (x when
 * {a: 1, b: 2} while b exists only when a is 3). Found by trying the ancestors' values parents
 * first, within a budget; a space too large to settle within it is accepted.
 */
function unreachableErrors(space: SearchSpace, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const order = conditionOrder(space);
  for (const name of order) {
    const p = space[name]!;
    if (!p.when) continue;
    const ancestors = new Set<string>();
    const stack = Object.keys(p.when);
    let invalid = false;
    while (stack.length > 0) {
      const a = stack.pop()!;
      if (ancestors.has(a)) continue;
      // An ancestor with its own error (left out of `space`) is reported already.
      if (!Object.hasOwn(space, a)) invalid = true;
      else stack.push(...Object.keys(space[a]!.when ?? {}));
      ancestors.add(a);
    }
    if (invalid) continue;
    const chain = order.filter((n) => ancestors.has(n));
    let budget = REACH_BUDGET;
    const reach = (i: number, active: Set<string>, params: Params): boolean => {
      if (--budget < 0) return true;
      if (i === chain.length) return conditionHolds(p, active, params);
      const a = chain[i]!;
      const spec = space[a]!;
      if (spec.type !== 'categorical' || !conditionHolds(spec, active, params)) return reach(i + 1, active, params);
      active.add(a);
      for (const v of spec.values) {
        params[a] = v;
        if (reach(i + 1, active, params)) return true;
      }
      active.delete(a);
      delete params[a];
      return false;
    };
    if (!reach(0, new Set(), {})) {
      errors.push({ field: `${at}.${name}.when`, reason: `can never hold: no values of its parents make "${name}" active (${describeCondition(p.when)} contradicts the parents' own conditions)` });
    }
  }
  return errors;
}

/** One error per cycle of parents (self-references are reported on their own), at the cycle's first parameter. */
function cycleErrors(space: SearchSpace, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const parentsOf = (n: string) => Object.keys(space[n]!.when ?? {}).filter((p) => p !== n && Object.hasOwn(space, p));
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    path.push(n);
    for (const p of parentsOf(n)) {
      const s = state.get(p);
      if (s === 'open') {
        const cycle = path.slice(path.indexOf(p));
        errors.push({ field: `${at}.${cycle[0]}.when`, reason: `conditions form a cycle: ${[...cycle, cycle[0]].join(' -> ')} (each depends on the next)` });
      } else if (s === undefined) visit(p);
    }
    path.pop();
    state.set(n, 'done');
  };
  for (const n of Object.keys(space)) if (!state.has(n)) visit(n);
  return errors;
}
