/**
 * MLflow's experiment search grammar (`SearchExperimentsUtils`): clauses joined by AND on
 * `name` / `attributes.name`, `creation_time`, `last_update_time` and `tags.<key>`; strings
 * compare with = != LIKE ILIKE, times with = != < <= > >=. order_by: `name`, `experiment_id`,
 * `creation_time`, `last_update_time` with ASC/DESC; the default (MLflow's) is creation_time
 * DESC, ties by experiment id.
 */
import { likeRegExp } from '../../shared/run-filter/evaluate.js';
import { invalidParam } from './wire.js';

export interface ExpView { id: string; name: string; creationTime: number; lastUpdateTime: number; tags: Record<string, string> }
type Field = { kind: 'attr'; name: 'name' | 'creation_time' | 'last_update_time' | 'experiment_id' } | { kind: 'tag'; name: string };
interface Clause { field: Field; op: string; value: string | number }
export interface ExpOrder { field: Field; desc: boolean }

const CLAUSE = /^\s*((?:(?:attributes?|attr|tags?)\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z0-9_.]+))\s*(!=|>=|<=|=|<|>|\bNOT\s+ILIKE\b|\bNOT\s+LIKE\b|\bILIKE\b|\bLIKE\b)\s*('(?:[^']|'')*'|"(?:[^"])*"|-?[0-9]+(?:\.[0-9]+)?)\s*$/i;

function field(text: string, what: string): Field {
  const dot = text.indexOf('.');
  const unquote = (s: string) => (/^[`"].*[`"]$/.test(s) ? s.slice(1, -1) : s);
  const prefix = dot < 0 ? '' : text.slice(0, dot).toLowerCase();
  if (prefix === 'tag' || prefix === 'tags') return { kind: 'tag', name: unquote(text.slice(dot + 1)) };
  const name = unquote(['attribute', 'attributes', 'attr'].includes(prefix) ? text.slice(dot + 1) : text);
  if (name === 'name' || name === 'creation_time' || name === 'last_update_time' || name === 'experiment_id') return { kind: 'attr', name };
  throw invalidParam(what, `${JSON.stringify(text)} is not a searchable experiment field (name, creation_time, last_update_time, tags.<key>)`);
}

/** Splits on AND outside quotes. */
function splitAnd(text: string): string[] {
  const parts: string[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) { if (c === quote) quote = ''; continue; }
    if (c === "'" || c === '"' || c === '`') { quote = c; continue; }
    if (/\s/.test(c) && /^\s+and\s+/i.test(text.slice(i))) {
      parts.push(text.slice(start, i));
      const m = /^\s+and\s+/i.exec(text.slice(i))!;
      i += m[0].length - 1;
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

export function parseExperimentFilter(text: string | undefined): Clause[] {
  if (!text || !text.trim()) return [];
  if (text.length > 4000) throw invalidParam('filter', 'is longer than 4000 characters');
  return splitAnd(text).map((part) => {
    const m = CLAUSE.exec(part);
    if (!m) throw invalidParam('filter', `cannot parse ${JSON.stringify(part.trim())}: expected <field> <comparator> <value>, clauses joined by AND`);
    const f = field(m[1]!, 'filter');
    const op = m[2]!.toUpperCase().replace(/\s+/g, ' ');
    const raw = m[3]!;
    const quoted = /^['"]/.test(raw);
    const numeric = f.kind === 'attr' && (f.name === 'creation_time' || f.name === 'last_update_time');
    if (numeric && (quoted || !['=', '!=', '<', '<=', '>', '>='].includes(op))) throw invalidParam('filter', `${f.name} compares with = != < <= > >= and a number`);
    if (!numeric && (!quoted || !['=', '!=', 'LIKE', 'ILIKE', 'NOT LIKE', 'NOT ILIKE'].includes(op))) throw invalidParam('filter', `${f.kind === 'tag' ? `tags.${f.name}` : f.name} compares with = != LIKE ILIKE and a quoted string`);
    const value = numeric ? Number(raw) : raw.slice(1, -1).replace(/''/g, "'");
    return { field: f, op, value };
  });
}

const valueOf = (e: ExpView, f: Field): string | number | undefined =>
  f.kind === 'tag' ? e.tags[f.name] : f.name === 'name' ? e.name : f.name === 'experiment_id' ? e.id : f.name === 'creation_time' ? e.creationTime : e.lastUpdateTime;

export function experimentMatches(e: ExpView, clauses: readonly Clause[]): boolean {
  return clauses.every((c) => {
    const v = valueOf(e, c.field);
    if (v === undefined) return false;
    switch (c.op) {
      case '=': return v === c.value;
      case '!=': return v !== c.value;
      case '<': return v < c.value;
      case '<=': return v <= c.value;
      case '>': return v > c.value;
      case '>=': return v >= c.value;
      case 'LIKE': return likeRegExp(String(c.value), false).test(String(v));
      case 'ILIKE': return likeRegExp(String(c.value), true).test(String(v));
      case 'NOT LIKE': return !likeRegExp(String(c.value), false).test(String(v));
      case 'NOT ILIKE': return !likeRegExp(String(c.value), true).test(String(v));
      default: return false;
    }
  });
}

export function parseExperimentOrder(items: readonly string[] | undefined): ExpOrder[] {
  const keys = (items ?? []).map((item, i) => {
    const m = /^\s*(.+?)(?:\s+(ASC|DESC))?\s*$/i.exec(item);
    if (!m) throw invalidParam(`order_by[${i}]`, 'must be "<field> [ASC|DESC]"');
    const f = field(m[1]!, `order_by[${i}]`);
    return { field: f, desc: m[2]?.toUpperCase() === 'DESC' };
  });
  if (keys.length === 0) keys.push({ field: { kind: 'attr', name: 'creation_time' }, desc: true });
  return keys;
}

export function compareExperiments(a: ExpView, b: ExpView, order: readonly ExpOrder[]): number {
  for (const o of order) {
    const x = valueOf(a, o.field);
    const y = valueOf(b, o.field);
    if (x === y) continue;
    // A missing value sorts last whatever the direction (as for runs).
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    const c = x < y ? -1 : 1;
    return o.desc ? -c : c;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
