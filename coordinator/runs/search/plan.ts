/**
 * From a parsed filter and order (shared/run-filter/ast.ts) to the plan searchRuns-3.lua runs in
 * one experiment: the run-document fields to read, the filter in the script's form, the indexes
 * that can produce candidates (top-level AND clauses), and the order index to walk. Pure: key
 * names come in through `IndexKeys`.
 */
import type { Clause, Filter, Key, OrderKey } from '../../../shared/run-filter/ast.js';
import { RUN_STATUSES, type RunView } from '../../../shared/run-model.js';
import { clauseMatches, DEFAULT_ORDER_BY } from '../../../shared/run-filter/evaluate.js';

export interface IndexKeys {
  all: string;
  names: string;
  experiment: string;
  metric(name: string): string;
  param(name: string): string;
  tag(name: string): string;
  start: string;
  end: string;
  status(s: string): string;
}

/** MLflow's default order: newest start first (ties by run id). */
export const DEFAULT_ORDER: readonly OrderKey[] = DEFAULT_ORDER_BY;

type LuaNode =
  | { t: 'c'; i: number; n: boolean; op: string; v?: string; vs?: string[] }
  | { t: 'and' | 'or'; items: LuaNode[] }
  | { t: 'true' } | { t: 'false' };
interface Source { k: number; t: 'score' | 'lex' | 'set' | 'all'; min: string; max: string; w?: boolean }
interface Walk { k: number; min: string; max: string; skip?: boolean; req?: boolean }

export interface LuaPlan {
  tp: string; ts: string; dp: string;
  eid: string;
  fields: string[];
  f: LuaNode | null;
  o: Array<{ i: number; n: boolean; d: boolean }>;
  c?: { v: Array<string | false>; id: string };
  lim: number;
  src: Source[];
  walk?: Walk;
}

/** Whether a key compares as a number (latest metric values, start and end times). */
export function isNumericKey(k: Key): boolean {
  return k.kind === 'metric' || (k.kind === 'attribute' && (k.name === 'start_time' || k.name === 'end_time'));
}

/** The run-document field a key reads; '' for the run id (the member itself); undefined for experiment_id (constant per experiment). */
export function docFieldOf(k: Key): string | undefined {
  switch (k.kind) {
    case 'metric': return `m:${k.name}`;
    case 'param': return `p:${k.name}`;
    case 'tag': return `t:${k.name}`;
    default:
      switch (k.name) {
        case 'run_id': return '';
        case 'run_name': return 'a:name';
        case 'status': return 'a:status';
        case 'state': return 'a:state';
        case 'start_time': return 'a:start';
        case 'end_time': return 'a:end';
        case 'parent_run_id': return 'a:parent';
        case 'experiment_id': return undefined;
        default: return `a:${k.name}`;
      }
  }
}

/** Evaluates clauses on experiment_id for one experiment, and folds constants. */
export function bindExperiment(f: Filter | undefined, experimentId: string): Filter | boolean | undefined {
  if (!f) return undefined;
  if (f.type === 'clause') {
    const c = f.clause;
    if (c.key.kind !== 'attribute' || c.key.name !== 'experiment_id') return f;
    return clauseOnValue(c, experimentId);
  }
  const items: Filter[] = [];
  for (const it of f.items) {
    const b = bindExperiment(it, experimentId);
    if (b === undefined) continue;
    if (typeof b === 'boolean') {
      if (f.type === 'and' && !b) return false;
      if (f.type === 'or' && b) return true;
      continue;
    }
    items.push(b);
  }
  if (items.length === 0) return f.type === 'and';
  return items.length === 1 ? items[0] : { type: f.type, items };
}

/** A clause on experiment_id, for one experiment: the reference semantics (evaluate.ts) on that one attribute. */
function clauseOnValue(c: Clause, experimentId: string): boolean {
  return clauseMatches({ experimentId } as RunView, c);
}

const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));
const fmt = (n: number) => (Number.isNaN(n) ? 'nan' : n === Infinity ? '+inf' : n === -Infinity ? '-inf' : String(n));

/** Builds the plan for one experiment. `filter` has been bound to it (no experiment_id clauses left). */
export function buildPlan(o: {
  filter: Filter | undefined;
  order: readonly OrderKey[];
  cursor?: { v: Array<string | null>; id: string };
  limit: number;
  keys: IndexKeys;
  experimentId: string;
  docParts: { trialPrefix: string; trialSuffix: string; directPrefix: string };
}): { plan: LuaPlan; keys: string[] } {
  const fields = ['a:created'];
  const fieldIndex = new Map<string, number>();
  const fieldOf = (k: Key): number => {
    const f = docFieldOf(k);
    if (f === '' || f === undefined) return 0;
    let i = fieldIndex.get(f);
    if (i === undefined) {
      fields.push(f);
      i = fields.length;
      fieldIndex.set(f, i);
    }
    return i;
  };
  const keyList = [o.keys.all, o.keys.names, o.keys.experiment];
  const keyPos = new Map<string, number>();
  const keyOf = (k: string): number => {
    let i = keyPos.get(k);
    if (i === undefined) {
      keyList.push(k);
      i = keyList.length;
      keyPos.set(k, i);
    }
    return i;
  };

  const toLua = (f: Filter): LuaNode => {
    if (f.type !== 'clause') return { t: f.type, items: f.items.map(toLua) };
    const c = f.clause;
    // As evaluate.ts: numbers compare as numbers only against a number literal; IN and LIKE
    // compare the value's string form (a document holds String(value) for numbers too).
    const n = isNumericKey(c.key) && typeof c.value === 'number' && !['IN', 'NOT IN', 'LIKE', 'ILIKE'].includes(c.op);
    const node: LuaNode = { t: 'c', i: fieldOf(c.key), n, op: c.op };
    if (Array.isArray(c.value)) node.vs = c.value.map((x) => String(x));
    else if (c.value !== undefined) node.v = n ? fmt(num(c.value)) : String(c.value);
    return node;
  };

  // experiment_id is constant within one experiment: field -1, the script reads plan.eid.
  const order = o.order.map((k) => ({ i: docFieldOf(k.key) === undefined ? -1 : fieldOf(k.key), n: isNumericKey(k.key), d: k.direction === 'DESC' }));
  const first = o.order[0];
  const walkField = first && isNumericKey(first.key) ? docFieldOf(first.key) : undefined;
  const top: Clause[] = !o.filter ? [] : o.filter.type === 'clause' ? [o.filter.clause] : o.filter.type === 'and' ? o.filter.items.flatMap((i) => (i.type === 'clause' ? [i.clause] : [])) : [];

  const src: Source[] = [];
  let lo = { v: -Infinity, open: false };
  let hi = { v: Infinity, open: false };
  let required = false;
  let walkUseless = false;
  for (const c of top) {
    const field = docFieldOf(c.key);
    const onWalk = field !== undefined && field === walkField;
    const s = sourceOf(c, o.keys, keyOf);
    if (s) src.push(onWalk ? { ...s, w: true } : s);
    if (!onWalk) continue;
    if (c.op === 'IS NULL') walkUseless = true;
    else required = true;
    if (typeof c.value !== 'number') continue;
    const v = c.value;
    if (c.op === '=' || c.op === '>=' || c.op === '>') if (v > lo.v || (v === lo.v && c.op === '>')) lo = { v, open: c.op === '>' };
    if (c.op === '=' || c.op === '<=' || c.op === '<') if (v < hi.v || (v === hi.v && c.op === '<')) hi = { v, open: c.op === '<' };
  }

  let cursor: LuaPlan['c'];
  let walk: Walk | undefined;
  if (o.cursor) cursor = { v: o.cursor.v.map((x) => (x === null ? false : x)), id: o.cursor.id };
  if (first && walkField && !walkUseless) {
    const k = first.key.kind === 'metric' ? o.keys.metric(first.key.name) : first.key.name === 'start_time' ? o.keys.start : o.keys.end;
    const w: Walk = { k: keyOf(k), min: bound(lo), max: bound(hi) };
    if (required) w.req = true;
    const cv = o.cursor?.v[0];
    if (o.cursor) {
      // Resume at the cursor's value (inclusive: ties with it are sorted by the rest of the order).
      if (cv === null || cv === undefined) w.skip = true;
      else if (first.direction === 'DESC' && Number(cv) <= hi.v) w.max = cv;
      else if (first.direction === 'ASC' && Number(cv) >= lo.v) w.min = cv;
    }
    walk = w;
  }
  const plan: LuaPlan = {
    tp: o.docParts.trialPrefix, ts: o.docParts.trialSuffix, dp: o.docParts.directPrefix, eid: o.experimentId,
    fields, f: o.filter ? toLua(o.filter) : null, o: order, lim: o.limit, src,
  };
  if (cursor) plan.c = cursor;
  if (walk) plan.walk = walk;
  return { plan, keys: keyList };
}

function bound(b: { v: number; open: boolean }): string {
  if (b.v === -Infinity) return '-inf';
  if (b.v === Infinity) return '+inf';
  return `${b.open ? '(' : ''}${fmt(b.v)}`;
}

/** The index that holds every run a clause can match, as a candidate source; undefined when none does. */
function sourceOf(c: Clause, k: IndexKeys, keyOf: (key: string) => number): Source | undefined {
  const key = c.key;
  if (key.kind === 'metric' || (key.kind === 'attribute' && (key.name === 'start_time' || key.name === 'end_time'))) {
    const zkey = key.kind === 'metric' ? k.metric(key.name) : key.name === 'start_time' ? k.start : k.end;
    if (c.op !== 'IS NOT NULL' && (typeof c.value !== 'number' || Number.isNaN(c.value))) return undefined;
    const v = fmt(num(c.value));
    const range: Record<string, [string, string]> = {
      '=': [v, v], '>': [`(${v}`, '+inf'], '>=': [v, '+inf'], '<': ['-inf', `(${v}`], '<=': ['-inf', v], 'IS NOT NULL': ['-inf', '+inf'],
    };
    const r = range[c.op];
    return r ? { k: keyOf(zkey), t: 'score', min: r[0], max: r[1] } : undefined;
  }
  if (key.kind === 'param' || key.kind === 'tag') {
    const zkey = key.kind === 'param' ? k.param(key.name) : k.tag(key.name);
    const v = String(c.value);
    switch (c.op) {
      case '=': return { k: keyOf(zkey), t: 'lex', min: `[${v}\0`, max: `(${v}\u0001` };
      case '>': return { k: keyOf(zkey), t: 'lex', min: `[${v}\u0001`, max: '+' };
      case '>=': return { k: keyOf(zkey), t: 'lex', min: `[${v}\0`, max: '+' };
      case '<': return { k: keyOf(zkey), t: 'lex', min: '-', max: `(${v}\0` };
      case '<=': return { k: keyOf(zkey), t: 'lex', min: '-', max: `(${v}\u0001` };
      case 'IS NOT NULL': return { k: keyOf(zkey), t: 'lex', min: '-', max: '+' };
      case 'IN': case 'NOT IN': case 'ILIKE': case '!=': return c.op === 'NOT IN' || c.op === '!=' ? { k: keyOf(zkey), t: 'lex', min: '-', max: '+' } : undefined;
      case 'LIKE': {
        const prefix = /^[^%_\\]*/.exec(v)![0];
        if (prefix === '') return { k: keyOf(zkey), t: 'lex', min: '-', max: '+' };
        const cps = [...prefix];
        const last = cps.pop()!.codePointAt(0)!;
        if (last >= 0x10ffff) return { k: keyOf(zkey), t: 'lex', min: `[${prefix}`, max: '+' };
        return { k: keyOf(zkey), t: 'lex', min: `[${prefix}`, max: `(${cps.join('')}${String.fromCodePoint(last + 1)}` };
      }
      default: return undefined;
    }
  }
  if (key.kind === 'attribute' && key.name === 'status' && c.op === '=' && (RUN_STATUSES as readonly string[]).includes(String(c.value))) {
    return { k: keyOf(k.status(String(c.value))), t: 'set', min: '', max: '' };
  }
  return undefined;
}
