/**
 * MLflow's run filter and order-by grammar (issue 11), parsed by hand so that every error says
 * where (0-based position) and what would have been valid there.
 *
 *   filter     := or
 *   or         := and ( OR and )*             AND binds tighter than OR: `a OR b AND c` is `a OR (b AND c)`
 *   and        := primary ( AND primary )*
 *   primary    := '(' or ')' | clause
 *   clause     := identifier comparator value
 *   identifier := type '.' key | attribute    a bare name is an attribute, as in MLflow
 *   type       := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run   (may be in backticks)
 *   key        := name ( '.' name )* | `...` | "..."
 *
 * OR and parentheses are Tunehive's extension; MLflow accepts AND only (a filter MLflow accepts
 * means the same here). Keywords are case-insensitive.
 *
 * Type rules (MLflow's, extended where noted):
 *   metrics     = != < <= > >=  with a number; IS [NOT] NULL (extension)
 *   params/tags = != LIKE ILIKE with a quoted string; [NOT] IN (strings) and IS [NOT] NULL (extensions)
 *   start_time, end_time        = != < <= > >= with a number (ms since the epoch); IS [NOT] NULL
 *   other attributes            = != LIKE ILIKE [NOT] IN with quoted strings; IS [NOT] NULL
 *   `status` values must be run statuses and `state` values trial states or run statuses
 *   (LIKE patterns are not checked).
 *
 * Strings: '...' or "..."; the quote is escaped by doubling it ('it''s') or with a backslash
 * ('it\'s'), and `\\` is one backslash. Any other backslash stays as written, so a LIKE pattern
 * keeps its escapes: `LIKE 'a\_b'` matches the text `a_b` only (see evaluate.ts).
 * Numbers: 3, -2, 0.5, .5, 1e-4, -1.5E+3 (finite).
 */
import { RUN_STATUSES } from '../run-model.js';
import { TRIAL_STATES } from '../trial.js';
import { ATTRIBUTES, type Attribute, type Clause, type Comparator, type Filter, type FilterSyntaxError, type Key, type KeyKind, type Literal, type OrderKey } from './ast.js';

export const FILTER_LIMITS = { maxLength: 4000, maxClauses: 50, maxDepth: 10, maxInValues: 1000, maxOrderKeys: 20, maxOrderItemLength: 1000 } as const;

export type ParseFilterResult = { ok: true; filter: Filter | undefined } | { ok: false; error: FilterSyntaxError };
export type ParseOrderByResult = { ok: true; keys: OrderKey[] } | { ok: false; error: FilterSyntaxError & { index: number } };

const TYPE_OF: Record<string, KeyKind> = {
  metric: 'metric', metrics: 'metric',
  param: 'param', params: 'param', parameter: 'param', parameters: 'param',
  tag: 'tag', tags: 'tag',
  attribute: 'attribute', attributes: 'attribute', attr: 'attribute', run: 'attribute',
};

/** MLflow's attribute spellings and aliases, lower-cased, onto ours. */
const ATTRIBUTE_OF: Record<string, Attribute> = {
  ...Object.fromEntries(ATTRIBUTES.map((a) => [a, a])),
  run_uuid: 'run_id', id: 'run_id',
  'run name': 'run_name', name: 'run_name',
  created: 'start_time',
  experiment: 'experiment_id',
  parent_run: 'parent_run_id',
};

const NUMERIC_ATTRIBUTES: ReadonlySet<Attribute> = new Set(['start_time', 'end_time']);
const ALL_OPS = '=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS';
const NUMBER_OPS: readonly Comparator[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_OPS: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
const NULL_OPS: readonly Comparator[] = ['IS NULL', 'IS NOT NULL'];
const STATE_VALUES: readonly string[] = [...new Set<string>([...TRIAL_STATES, ...RUN_STATUSES])];
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NAME_CHAR = /[A-Za-z0-9_]/;

class Fail extends Error {
  constructor(readonly position: number, readonly expected: string) { super(`at position ${position}: expected ${expected}`); }
}

export function keyText(k: Key): string {
  const prefix = k.kind === 'metric' ? 'metrics' : k.kind === 'param' ? 'params' : k.kind === 'tag' ? 'tags' : 'attributes';
  return /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/.test(k.name) ? `${prefix}.${k.name}` : `${prefix}.\`${k.name}\``;
}

function opsFor(k: Key): readonly Comparator[] {
  if (k.kind === 'metric') return [...NUMBER_OPS, ...NULL_OPS];
  if (k.kind === 'attribute' && NUMERIC_ATTRIBUTES.has(k.name as Attribute)) return [...NUMBER_OPS, ...NULL_OPS];
  return [...STRING_OPS, ...NULL_OPS];
}

function isNumeric(k: Key): boolean {
  return k.kind === 'metric' || (k.kind === 'attribute' && NUMERIC_ATTRIBUTES.has(k.name as Attribute));
}

function why(k: Key): string {
  if (k.kind === 'metric') return 'metrics compare with numbers';
  if (k.kind === 'param') return 'params compare as strings';
  if (k.kind === 'tag') return 'tags compare as strings';
  return isNumeric(k) ? `${k.name} is a number (ms since the epoch)` : `${k.name} is a string`;
}

/** A cursor over one text: the filter, or one order-by item. */
class Cursor {
  i = 0;
  constructor(readonly s: string) {}

  skipWs(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  atEnd(): boolean { this.skipWs(); return this.i >= this.s.length; }
  peek(): string | undefined { this.skipWs(); return this.s[this.i]; }

  /** A keyword at the cursor (whole word, case-insensitive); consumed when present. */
  keyword(word: string): boolean {
    this.skipWs();
    const end = this.i + word.length;
    if (this.s.slice(this.i, end).toUpperCase() !== word) return false;
    if (end < this.s.length && NAME_CHAR.test(this.s[end]!)) return false;
    this.i = end;
    return true;
  }

  /** A bare name `[A-Za-z0-9_]+` at the cursor, or undefined. */
  name(): string | undefined {
    const start = this.i;
    while (this.i < this.s.length && NAME_CHAR.test(this.s[this.i]!)) this.i++;
    return this.i > start ? this.s.slice(start, this.i) : undefined;
  }

  /** A quoted string or key starting at the cursor (the quote char is at `this.i`). */
  quoted(what: string): string {
    const start = this.i;
    const q = this.s[start]!;
    let out = '';
    let j = start + 1;
    for (;;) {
      if (j >= this.s.length) throw new Fail(this.s.length, `a closing ${q} for the ${what} that starts at position ${start}`);
      const c = this.s[j]!;
      if (c === q) {
        if (this.s[j + 1] === q) { out += q; j += 2; continue; }
        this.i = j + 1;
        return out;
      }
      if (c === '\\' && q !== '`' && (this.s[j + 1] === q || this.s[j + 1] === '\\')) { out += this.s[j + 1]; j += 2; continue; }
      out += c;
      j++;
    }
  }
}

/** `type.key` or a bare attribute; the cursor is at its first character. */
function parseIdentifier(c: Cursor): Key {
  c.skipWs();
  const start = c.i;
  let typeWord: string | undefined;
  if (c.s[c.i] === '`') {
    typeWord = c.quoted('identifier type');
  } else {
    typeWord = c.name();
  }
  if (typeWord === undefined) {
    throw new Fail(start, 'an identifier such as metrics.f1, params.lr, tags.team or attributes.status');
  }
  if (c.s[c.i] !== '.') {
    const upper = typeWord.toUpperCase();
    if (upper === 'AND' || upper === 'OR' || upper === 'NOT') {
      const hint = upper === 'NOT' ? '; there is no NOT: use !=, NOT IN or IS NULL' : '';
      throw new Fail(start, `a clause such as metrics.f1 > 0.9 (got the keyword ${upper}${hint})`);
    }
    return { kind: 'attribute', name: attributeName(typeWord, start) };
  }
  const kind = TYPE_OF[typeWord.toLowerCase()];
  if (kind === undefined) {
    if (typeWord.toLowerCase() === 'dataset' || typeWord.toLowerCase() === 'datasets') {
      throw new Fail(start, 'metrics., params., tags. or attributes. (dataset filters are not supported: runs have no datasets here)');
    }
    throw new Fail(start, `metrics., params., tags. or attributes. before the key (got '${typeWord}.')`);
  }
  c.i++; // the dot
  const keyStart = c.i;
  const q = c.s[c.i];
  let name: string;
  if (q === '`' || q === '"') {
    name = c.quoted('key');
  } else {
    const parts: string[] = [];
    for (;;) {
      const part = c.name();
      if (part === undefined) break;
      parts.push(part);
      if (c.s[c.i] === '.' && c.i + 1 < c.s.length && NAME_CHAR.test(c.s[c.i + 1]!)) { c.i++; continue; }
      break;
    }
    if (parts.length === 0) throw new Fail(keyStart, `a key after '${typeWord}.' (a name, or in backticks or double quotes when it has other characters: ${typeWord}.\`f1-score\`)`);
    name = parts.join('.');
    if (c.s[c.i] === '-' || c.s[c.i] === '/' || c.s[c.i] === ':') {
      const whole = /^[^\s=!<>()'"`]*/.exec(c.s.slice(keyStart))![0];
      throw new Fail(c.i, `a comparison operator after ${typeWord}.${name} (a key with '${c.s[c.i]}' goes in backticks: ${typeWord}.\`${whole}\`)`);
    }
  }
  if (name.length === 0) throw new Fail(keyStart, `a non-empty key after '${typeWord}.'`);
  if (name.length > 250) throw new Fail(keyStart, 'a key of at most 250 characters');
  if (kind === 'attribute') return { kind, name: attributeName(name, keyStart) };
  return { kind, name };
}

function attributeName(word: string, at: number): Attribute {
  const a = ATTRIBUTE_OF[word.toLowerCase()];
  if (a === undefined) {
    throw new Fail(at, `an attribute (${ATTRIBUTES.join(', ')}) or a key with its type, such as metrics.${word}, params.${word} or tags.${word} (got '${word}')`);
  }
  return a;
}

function parseComparator(c: Cursor, k: Key): { op: Comparator; at: number } {
  c.skipWs();
  const at = c.i;
  const two = c.s.slice(c.i, c.i + 2);
  let op: Comparator | undefined;
  if (two === '!=' || two === '<=' || two === '>=') { op = two; c.i += 2; }
  else if (two === '<>') { op = '!='; c.i += 2; }
  else if (two === '==') { op = '='; c.i += 2; }
  else if (c.s[c.i] === '=' || c.s[c.i] === '<' || c.s[c.i] === '>') { op = c.s[c.i] as Comparator; c.i++; }
  else if (c.keyword('LIKE')) op = 'LIKE';
  else if (c.keyword('ILIKE')) op = 'ILIKE';
  else if (c.keyword('IN')) op = 'IN';
  else if (c.keyword('NOT')) {
    if (!c.keyword('IN')) { c.skipWs(); throw new Fail(c.i, `IN after NOT (NOT IN is the only negated operator; for the others use !=)`); }
    op = 'NOT IN';
  } else if (c.keyword('IS')) {
    if (c.keyword('NULL')) op = 'IS NULL';
    else if (c.keyword('NOT') && c.keyword('NULL')) op = 'IS NOT NULL';
    else { c.skipWs(); throw new Fail(c.i, `NULL or NOT NULL after IS`); }
  }
  if (op === undefined) throw new Fail(at, `a comparison operator (${ALL_OPS}) after ${keyText(k)}`);
  const allowed = opsFor(k);
  if (!allowed.includes(op)) {
    throw new Fail(at, `one of ${allowed.join(', ')} for ${keyText(k)} (${why(k)}; ${op} is not allowed there)`);
  }
  return { op, at };
}

function parseNumber(c: Cursor, k: Key): number {
  c.skipWs();
  const start = c.i;
  const q = c.s[c.i];
  if (q === "'" || q === '"') {
    const text = c.quoted('string');
    const hint = NUMBER.test(text.trim()) ? `: write ${text.trim()} without quotes` : '';
    throw new Fail(start, `a number for ${keyText(k)} (${why(k)}, and ${q}${text}${q} is a string${hint})`);
  }
  while (c.i < c.s.length && /[A-Za-z0-9_.+-]/.test(c.s[c.i]!)) {
    // A sign only leads the number or follows its exponent.
    const ch = c.s[c.i]!;
    if ((ch === '+' || ch === '-') && c.i > start && !/[eE]/.test(c.s[c.i - 1]!)) break;
    c.i++;
  }
  const text = c.s.slice(start, c.i);
  if (text === '') throw new Fail(start, `a number for ${keyText(k)} (such as 0.9, -3 or 1e-4)`);
  if (!NUMBER.test(text)) throw new Fail(start, `a number for ${keyText(k)} (such as 0.9, -3 or 1e-4; got '${text}')`);
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Fail(start, `a finite number for ${keyText(k)} (got '${text}')`);
  return n;
}

function parseString(c: Cursor, k: Key, op: Comparator): string {
  c.skipWs();
  const start = c.i;
  const q = c.s[c.i];
  if (q !== "'" && q !== '"') {
    const word = /^[^\s()]*/.exec(c.s.slice(c.i))![0];
    const hint = word ? `: write '${word}'` : '';
    throw new Fail(start, `a quoted string for ${keyText(k)} (${why(k)}${hint})`);
  }
  const v = c.quoted('string');
  if (op !== 'LIKE' && op !== 'ILIKE' && k.kind === 'attribute') checkAttributeValue(k.name as Attribute, v, start);
  return v;
}

function checkAttributeValue(a: Attribute, v: string, at: number): void {
  if (a === 'status' && !(RUN_STATUSES as readonly string[]).includes(v)) {
    throw new Fail(at, `a run status (${RUN_STATUSES.join(', ')}) for attributes.status (got '${v}')`);
  }
  if (a === 'state' && !STATE_VALUES.includes(v)) {
    throw new Fail(at, `a state (${STATE_VALUES.join(', ')}) for attributes.state (got '${v}')`);
  }
}

function parseList(c: Cursor, k: Key, op: Comparator): string[] {
  c.skipWs();
  if (c.s[c.i] !== '(') throw new Fail(c.i, `'(' after ${op}, then quoted strings separated by commas: ${keyText(k)} ${op} ('a', 'b')`);
  c.i++;
  const out: string[] = [];
  if (c.peek() === ')') throw new Fail(c.i, `at least one quoted string in the ${op} list`);
  for (;;) {
    if (out.length >= FILTER_LIMITS.maxInValues) throw new Fail(c.i, `at most ${FILTER_LIMITS.maxInValues} values in an ${op} list`);
    const at = (c.skipWs(), c.i);
    const q = c.s[c.i];
    if (q !== "'" && q !== '"') throw new Fail(at, `a quoted string in the ${op} list`);
    const v = c.quoted('string');
    if (k.kind === 'attribute') checkAttributeValue(k.name as Attribute, v, at);
    out.push(v);
    const next = c.peek();
    if (next === ',') { c.i++; continue; }
    if (next === ')') { c.i++; return out; }
    throw new Fail(c.i, `',' or ')' in the ${op} list`);
  }
}

function parseClause(c: Cursor): Clause {
  c.skipWs();
  const at = c.i;
  const key = parseIdentifier(c);
  const { op } = parseComparator(c, key);
  let value: Literal | Literal[] | undefined;
  if (op === 'IS NULL' || op === 'IS NOT NULL') value = undefined;
  else if (op === 'IN' || op === 'NOT IN') value = parseList(c, key, op);
  else if (isNumeric(key)) value = parseNumber(c, key);
  else value = parseString(c, key, op);
  return value === undefined ? { key, op, at } : { key, op, value, at };
}

class FilterParser {
  readonly c: Cursor;
  clauses = 0;
  constructor(text: string) { this.c = new Cursor(text); }

  or(depth: number): Filter {
    const items: Filter[] = [];
    for (;;) {
      const item = this.and(depth);
      if (item.type === 'or') items.push(...item.items); else items.push(item);
      if (!this.c.keyword('OR')) break;
    }
    return items.length === 1 ? items[0]! : { type: 'or', items };
  }

  and(depth: number): Filter {
    const items: Filter[] = [];
    for (;;) {
      const item = this.primary(depth);
      if (item.type === 'and') items.push(...item.items); else items.push(item);
      if (!this.c.keyword('AND')) break;
    }
    return items.length === 1 ? items[0]! : { type: 'and', items };
  }

  primary(depth: number): Filter {
    const c = this.c;
    c.skipWs();
    if (c.i >= c.s.length) {
      throw new Fail(c.i, this.clauses === 0 && depth === 0 ? 'a clause such as metrics.f1 > 0.9' : 'a clause (such as metrics.f1 > 0.9) or \'(\'');
    }
    if (c.s[c.i] === '(') {
      const open = c.i;
      if (depth + 1 > FILTER_LIMITS.maxDepth) throw new Fail(open, `at most ${FILTER_LIMITS.maxDepth} levels of parentheses`);
      c.i++;
      if (c.peek() === ')') throw new Fail(c.i, `a clause inside the parentheses opened at position ${open}`);
      const inner = this.or(depth + 1);
      if (c.peek() !== ')') throw new Fail(c.i, `AND, OR or ')' to close the '(' at position ${open}`);
      c.i++;
      return inner;
    }
    if (c.s[c.i] === ')') throw new Fail(c.i, 'a clause (such as metrics.f1 > 0.9) or \'(\'');
    if (this.clauses >= FILTER_LIMITS.maxClauses) throw new Fail(c.i, `at most ${FILTER_LIMITS.maxClauses} clauses`);
    this.clauses++;
    return { type: 'clause', clause: parseClause(c) };
  }
}

/** Empty or blank text is no filter (every run matches). */
export function parseFilter(text: string): ParseFilterResult {
  if (typeof text !== 'string') return { ok: false, error: err(0, 'a filter string') };
  if (text.length > FILTER_LIMITS.maxLength) {
    return { ok: false, error: err(FILTER_LIMITS.maxLength, `a filter of at most ${FILTER_LIMITS.maxLength} characters (this one has ${text.length})`) };
  }
  const p = new FilterParser(text);
  if (p.c.atEnd()) return { ok: true, filter: undefined };
  try {
    const filter = p.or(0);
    if (!p.c.atEnd()) {
      const unmatched = p.c.s[p.c.i] === ')' ? " (this ')' has no '(')" : '';
      throw new Fail(p.c.i, `AND, OR or the end of the filter${unmatched}`);
    }
    return { ok: true, filter };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: err(e.position, e.expected) };
    throw e;
  }
}

/** Each item is `<identifier> [ASC|DESC]` (default ASC); every attribute may be ordered by. */
export function parseOrderBy(items: readonly string[]): ParseOrderByResult {
  if (items.length > FILTER_LIMITS.maxOrderKeys) {
    return { ok: false, error: { ...err(0, `at most ${FILTER_LIMITS.maxOrderKeys} order-by keys (got ${items.length})`), index: FILTER_LIMITS.maxOrderKeys } };
  }
  const keys: OrderKey[] = [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index]!;
    try {
      if (typeof item !== 'string') throw new Fail(0, 'an order-by key such as metrics.f1 DESC');
      if (item.length > FILTER_LIMITS.maxOrderItemLength) throw new Fail(FILTER_LIMITS.maxOrderItemLength, `an order-by key of at most ${FILTER_LIMITS.maxOrderItemLength} characters`);
      const c = new Cursor(item);
      if (c.atEnd()) throw new Fail(c.i, 'an order-by key such as metrics.f1 DESC or attributes.start_time');
      const key = parseIdentifier(c);
      let direction: 'ASC' | 'DESC' = 'ASC';
      if (c.keyword('DESC')) direction = 'DESC';
      else if (c.keyword('ASC')) direction = 'ASC';
      if (!c.atEnd()) throw new Fail(c.i, `ASC, DESC or the end of the order-by key after ${keyText(key)}`);
      keys.push({ key, direction });
    } catch (e) {
      if (e instanceof Fail) return { ok: false, error: { ...err(e.position, e.expected), index, message: `order-by item ${index}: ${e.message}` } };
      throw e;
    }
  }
  return { ok: true, keys };
}

function err(position: number, expected: string): FilterSyntaxError {
  return { position, expected, message: `at position ${position}: expected ${expected}` };
}

/**
 * One order-by text as several items: "metrics.f1 DESC, params.lr" splits at commas outside
 * backticks and quotes (a key may hold a comma: metrics.`a,b`). Blank items are dropped.
 */
export function splitOrderBy(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '`' || ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out.filter((s) => s.trim() !== '');
}
