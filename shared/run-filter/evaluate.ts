/**
 * The reference semantics of a run filter and an order (issue 11): the indexed search must return
 * exactly what `matches` + `compareRuns` give over the same runs.
 *
 * - A metric means its latest value (`run.metrics[name].value`); numbers compare as numbers.
 * - Params, tags and string attributes compare as strings, by code point (the order of their UTF-8
 *   bytes, which is what a Redis lex index sees).
 * - LIKE / ILIKE as SQL: `%` any run of characters, `_` one character, `\` makes the next character
 *   literal (`\%`, `\_`, `\\`); the whole value must match. ILIKE ignores case.
 * - A clause on a key the run does not have is false (also for != and NOT IN), except IS NULL.
 *   `start_time`, `end_time` and `parent_run_id` are missing while null.
 */
import type { RunView } from '../run-model.js';
import type { Attribute, Clause, Filter, Key, OrderKey } from './ast.js';

export type KeyValue = string | number | undefined;

/** The value a key has on a run, or undefined when the run does not have it. */
export function valueOf(run: RunView, key: Key): KeyValue {
  switch (key.kind) {
    case 'metric': return run.metrics[key.name]?.value;
    case 'param': return own(run.params, key.name);
    case 'tag': return own(run.tags, key.name);
    case 'attribute': return attributeOf(run, key.name as Attribute);
  }
}

function own(rec: Record<string, string>, k: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(rec, k) ? rec[k] : undefined;
}

function attributeOf(run: RunView, a: Attribute): KeyValue {
  switch (a) {
    case 'run_id': return run.id;
    case 'run_name': return run.name;
    case 'status': return run.status;
    case 'start_time': return run.startTime ?? undefined;
    case 'end_time': return run.endTime ?? undefined;
    case 'experiment_id': return run.experimentId;
    case 'state': return run.state;
    case 'parent_run_id': return run.parentRunId ?? undefined;
    default: return undefined;
  }
}

export function matches(run: RunView, f: Filter | undefined): boolean {
  if (f === undefined) return true;
  switch (f.type) {
    case 'clause': return clauseMatches(run, f.clause);
    case 'and': return f.items.every((i) => matches(run, i));
    case 'or': return f.items.some((i) => matches(run, i));
  }
}

export function clauseMatches(run: RunView, c: Clause): boolean {
  const v = valueOf(run, c.key);
  if (c.op === 'IS NULL') return v === undefined;
  if (c.op === 'IS NOT NULL') return v !== undefined;
  if (v === undefined) return false;
  switch (c.op) {
    case 'IN': return Array.isArray(c.value) && c.value.some((x) => String(x) === String(v));
    case 'NOT IN': return Array.isArray(c.value) && !c.value.some((x) => String(x) === String(v));
    case 'LIKE': return likeRegExp(String(c.value), false).test(String(v));
    case 'ILIKE': return likeRegExp(String(c.value), true).test(String(v));
  }
  const rhs = c.value;
  if (rhs === undefined || Array.isArray(rhs)) return false;
  const cmp = typeof v === 'number' && typeof rhs === 'number' ? compareNumbers(v, rhs) : compareStrings(String(v), String(rhs));
  if (Number.isNaN(cmp)) return c.op === '!=';
  switch (c.op) {
    case '=': return cmp === 0;
    case '!=': return cmp !== 0;
    case '<': return cmp < 0;
    case '<=': return cmp <= 0;
    case '>': return cmp > 0;
    case '>=': return cmp >= 0;
  }
  return false;
}

function compareNumbers(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Code point order (= UTF-8 byte order), not UTF-16 code unit order and not locale order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

// Surrogates (D800-DFFF) encode code points above FFFF: they must sort after E000-FFFF.
function fixup(c: number): number {
  return c >= 0xe000 ? c - 0x800 : c >= 0xd800 ? c + 0x2000 : c;
}

/** A compiled SQL LIKE pattern. */
export interface LikeMatcher { test(value: string): boolean }

const likeCache = new Map<string, LikeMatcher>();
const LIKE_CACHE_MAX = 500;

/**
 * A SQL LIKE pattern (`%`, `_`, `\` escapes the next character) as a matcher that never
 * backtracks across a `%`: one RegExp for the whole pattern (`^[^]*a[^]*a[^]*b$`) costs
 * O(n^k) on a non-matching value (k `%`s; `%a%a%b` took 0.8 s on 200 characters), and a
 * filter may hold a thousand. The pattern is cut at its `%`s into segments of fixed length
 * (literals and `_`): the first must match at the start, the last at the end, and each middle
 * one is taken at its leftmost place after the previous one, which is optimal because a
 * segment's length is fixed. Each segment's RegExp has no quantifier: O(n * m) in all.
 */
export function likeRegExp(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const cacheKey = (caseInsensitive ? 'i' : 's') + pattern;
  const hit = likeCache.get(cacheKey);
  if (hit) return hit;
  const segments: string[] = [''];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\' && i + 1 < chars.length) segments[segments.length - 1] += escapeRe(chars[++i]!);
    else if (ch === '%') segments.push('');
    else segments[segments.length - 1] += ch === '_' ? '.' : escapeRe(ch);
  }
  const flags = caseInsensitive ? 'isu' : 'su';
  let m: LikeMatcher;
  if (segments.length === 1) {
    const whole = new RegExp(`^${segments[0]}$`, flags);
    m = { test: (v) => whole.test(v) };
  } else {
    const first = new RegExp(`^${segments[0]}`, flags);
    const middle = segments.slice(1, -1).filter((x) => x !== '').map((x) => new RegExp(x, `g${flags}`));
    const last = new RegExp(`${segments.at(-1)}$`, `g${flags}`);
    m = {
      test: (v) => {
        const f = first.exec(v);
        if (!f) return false;
        let at = f[0].length;
        for (const re of middle) {
          re.lastIndex = at;
          const hit = re.exec(v);
          if (!hit) return false;
          at = hit.index + hit[0].length;
        }
        last.lastIndex = at;
        return last.exec(v) !== null;
      },
    };
  }
  if (likeCache.size >= LIKE_CACHE_MAX) likeCache.delete(likeCache.keys().next().value!);
  likeCache.set(cacheKey, m);
  return m;
}

function escapeRe(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

/**
 * For each key in turn: runs without the key come last (in both directions), NaN after every
 * number; then ascending run id. `DEFAULT_ORDER_BY` is MLflow's order when none is given.
 */
export function compareRuns(a: RunView, b: RunView, keys: readonly OrderKey[]): number {
  for (const k of keys) {
    const c = compareValues(valueOf(a, k.key), valueOf(b, k.key), k.direction);
    if (c !== 0) return c;
  }
  return compareStrings(a.id, b.id);
}

function compareValues(x: KeyValue, y: KeyValue, direction: 'ASC' | 'DESC'): number {
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
  const xNaN = typeof x === 'number' && Number.isNaN(x);
  const yNaN = typeof y === 'number' && Number.isNaN(y);
  if (xNaN || yNaN) return xNaN && yNaN ? 0 : xNaN ? 1 : -1;
  const c = typeof x === 'number' && typeof y === 'number' ? compareNumbers(x, y) : compareStrings(String(x), String(y));
  return direction === 'DESC' ? -c : c;
}

/** MLflow's order when `order_by` is empty: newest start first (then run id). */
export const DEFAULT_ORDER_BY: readonly OrderKey[] = [{ key: { kind: 'attribute', name: 'start_time' }, direction: 'DESC' }];
