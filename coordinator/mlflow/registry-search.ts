/**
 * The filters of MLflow's registry searches (`SearchModelUtils`, `SearchModelVersionUtils`):
 * clauses `<key> <op> <value>` joined by AND. Registered models: `name` (= != LIKE ILIKE) and
 * `tags.<key>` (= != LIKE ILIKE). Model versions: also `run_id` (= != IN), `source_path`,
 * `version_number` (numeric comparisons). Keys with special characters in backticks or quotes.
 */
import { likeRegExp } from '../../shared/run-filter/evaluate.js';
import { invalidParam } from './wire.js';

export interface RegistryClause { key: string; op: string; value: string | number | string[] }
export type Getter = (key: string) => string | number | undefined;

const CLAUSE = /^\s*((?:tags?\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z_][A-Za-z0-9_.]*))\s*(=|!=|<=|>=|<|>|NOT\s+IN|IN|ILIKE|LIKE)\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\([^)]*\)|-?\d+(?:\.\d+)?)\s*/i;

export function parseRegistryFilter(filter: string | undefined, allowed: ReadonlySet<string>): RegistryClause[] {
  if (filter === undefined || filter.trim() === '') return [];
  if (filter.length > 4000) throw invalidParam('filter', 'is longer than 4000 characters');
  const out: RegistryClause[] = [];
  let rest = filter;
  while (rest.trim() !== '') {
    const m = CLAUSE.exec(rest);
    if (!m) throw invalidParam('filter', `cannot parse ${JSON.stringify(rest.trim().slice(0, 80))} (expected <key> <comparator> <value>, clauses joined by AND)`);
    let key = m[1]!.replace(/^tag\./i, 'tags.');
    key = key.replace(/[`"]/g, '');
    const base = key.startsWith('tags.') ? 'tags' : key;
    if (!allowed.has(base)) throw invalidParam('filter', `invalid attribute key ${JSON.stringify(key)} (valid: ${[...allowed].join(', ')})`);
    const op = m[2]!.toUpperCase().replace(/\s+/g, ' ');
    const raw = m[3]!;
    let value: string | number | string[];
    if (raw.startsWith('(')) {
      value = [...raw.slice(1, -1).matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1] ?? x[2]!);
      if (op !== 'IN' && op !== 'NOT IN') throw invalidParam('filter', `a list needs IN or NOT IN (${key})`);
    } else if (raw.startsWith("'") || raw.startsWith('"')) value = raw.slice(1, -1).replace(/\\(.)/g, '$1');
    else value = Number(raw);
    if ((op === 'IN' || op === 'NOT IN') && !Array.isArray(value)) throw invalidParam('filter', `${op} needs a list such as ('a', 'b') (${key})`);
    out.push({ key, op, value });
    rest = rest.slice(m[0].length);
    if (rest.trim() === '') break;
    const and = /^AND\s+/i.exec(rest);
    if (!and) throw invalidParam('filter', `expected AND at ${JSON.stringify(rest.slice(0, 40))} (OR is not supported)`);
    rest = rest.slice(and[0].length);
    if (out.length > 50) throw invalidParam('filter', 'has more than 50 clauses');
  }
  return out;
}

export function matchesClauses(get: Getter, clauses: readonly RegistryClause[]): boolean {
  return clauses.every((c) => {
    const v = get(c.key);
    if (v === undefined) return c.op === '!=' || c.op === 'NOT IN';
    switch (c.op) {
      case '=': return String(v) === String(c.value);
      case '!=': return String(v) !== String(c.value);
      case 'LIKE': return likeRegExp(String(c.value), false).test(String(v));
      case 'ILIKE': return likeRegExp(String(c.value), true).test(String(v));
      case 'IN': return Array.isArray(c.value) && c.value.includes(String(v));
      case 'NOT IN': return Array.isArray(c.value) && !c.value.includes(String(v));
      default: {
        const a = Number(v);
        const b = Number(c.value);
        return c.op === '<' ? a < b : c.op === '<=' ? a <= b : c.op === '>' ? a > b : a >= b;
      }
    }
  });
}

export interface OrderBy { key: string; desc: boolean }

export function parseRegistryOrderBy(items: readonly string[] | undefined, allowed: ReadonlySet<string>): OrderBy[] {
  return (items ?? []).map((item, i) => {
    const m = /^\s*(`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)\s*(ASC|DESC)?\s*$/i.exec(item);
    const key = m?.[1]?.replace(/`/g, '');
    if (!m || !key || !allowed.has(key)) throw invalidParam(`order_by[${i}]`, `${JSON.stringify(item.slice(0, 80))} must be one of ${[...allowed].join(', ')} with an optional ASC or DESC`);
    return { key, desc: (m[2] ?? 'ASC').toUpperCase() === 'DESC' };
  });
}

export function compareBy<T>(get: (x: T, key: string) => string | number, keys: readonly OrderBy[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = get(a, k.key);
      const y = get(b, k.key);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  };
}
