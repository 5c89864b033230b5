/**
 * `tunehive runs | compare | tag | note` (issue 11): thin clients of GET /api/v1/runs,
 * GET /api/v1/runs/compare and PATCH /api/v1/runs/:id.
 *
 * A bad filter or order-by is caught here before any request, with the same parser the
 * coordinator uses, and printed with a caret under the position. What the server refuses (4xx)
 * and usage mistakes exit 2; an unreachable server exits 1 like the other commands.
 */
import { csvCell } from '../coordinator/runs/run-export.js';
import { readFileSync } from 'node:fs';
import { parseFilter, parseOrderBy, splitOrderBy } from '../shared/run-filter/parse-filter.js';
import type { Key } from '../shared/run-filter/ast.js';
import { RUN_LIMITS } from '../shared/run-model.js';
import { commandClient, commandFlags, CommandUsageError, runCommand as runWithExitCodes } from './command-kit.js';
import { fmtValue, safeText, table } from './format.js';
import { api, ApiError } from './http-client.js';

export const RUN_COMMANDS = ['runs', 'compare', 'tag', 'note'] as const;


const say = (m: string) => process.stderr.write(`${m}\n`);
/** The API's page size ceiling (RunSearch.pageSize). */
const PAGE_MAX = 1000;
const MAX_MAX = 100_000;

/** Runs one of RUN_COMMANDS; returns the exit code (2: bad input, here or as the server saw it). */
export async function runCommand(command: string, args: string[]): Promise<number> {
  return runWithExitCodes(async () => {
    switch (command) {
      case 'runs': return searchRuns(args);
      case 'compare': return compare(args);
      case 'tag': return tag(args);
      case 'note': return note(args);
      default: throw new CommandUsageError(`unknown command ${command}`);
    }
  }, (err) => new ApiError(explainServerError(err.message), err.status));
}

/** The text with a caret under `position`, for a one-line filter. */
export function caret(text: string, position: number): string {
  const shown = safeText(text);
  return `  ${shown}\n  ${' '.repeat(Math.min(position, shown.length))}^`;
}

/**
 * The server refused the filter or an order key (a coordinator whose grammar differs from this
 * CLI's): its message is the parser's; show where, like a local error.
 */
export function serverFilterError(err: unknown, filter: string, orderBy: string[]): unknown {
  if (!(err instanceof ApiError) || err.status !== 400) return err;
  const first = err.message.split('\n')[0]!;
  const at = /at position (\d+): expected/.exec(first);
  if (!at) return err;
  const position = Number(at[1]);
  if (/orderBy/.test(first)) {
    // run-routes.ts numbers the items from 1, after splitting comma-separated ones.
    const item = /item (\d+)/.exec(first);
    const items = orderBy.flatMap(splitOrderBy);
    const shown = item ? items[Number(item[1]) - 1] : undefined;
    return new CommandUsageError(`the coordinator refused --order-by: ${first}${shown !== undefined ? `\n${caret(shown, position)}` : ''}`);
  }
  return new CommandUsageError(`the coordinator refused --filter: ${first}\n${caret(filter, position)}\n${FILTER_HELP}`);
}

/** A filter error from the server: its message is the parser's, so add the rules that fix it. */
function explainServerError(message: string): string {
  if (/at position \d+: expected/.test(message) && /filter|orderBy|order-by|order_by/i.test(message)) return `${message}\n${FILTER_HELP}`;
  return message;
}

const FILTER_HELP = 'Filters are MLflow\'s: metrics.f1 > 0.9 and params.model = \'rf\' and tags.team = \'fraud\' and attributes.status = \'FINISHED\'\n' +
  '  metrics compare with numbers, params and tags with quoted strings; keys with other characters go in backticks (metrics.`f1-score`);\n' +
  '  operators = != < <= > >= LIKE ILIKE IN (...) NOT IN (...) IS NULL IS NOT NULL; AND binds tighter than OR; parentheses group.';

function checkFilter(text: string): void {
  const p = parseFilter(text);
  if (!p.ok) throw new CommandUsageError(`--filter is invalid: ${p.error.message}\n${caret(text, p.error.position)}\n${FILTER_HELP}`);
}

/** The order keys of every --order-by (each may hold several, comma-separated, as the API takes them). */
function checkOrderBy(flags: string[]): Key[] {
  const items = flags.flatMap(splitOrderBy);
  const p = parseOrderBy(items);
  if (!p.ok) {
    throw new CommandUsageError(`--order-by ${JSON.stringify(items[p.error.index]?.trim())} is invalid: at position ${p.error.position}: expected ${p.error.expected}\n` +
      `${caret(items[p.error.index] ?? '', p.error.position)}\nOrder keys look like: metrics.f1 DESC, params.lr ASC, attributes.start_time (ASC by default; runs without the key come last).`);
  }
  return p.keys.map((k) => k.key);
}

function intFlag(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < min || n > max) throw new CommandUsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  return n;
}

async function searchRuns(args: string[]): Promise<number> {
  const f = commandFlags(args, { filter: { type: 'string' }, 'order-by': { type: 'string', multiple: true }, max: { type: 'string' }, output: { type: 'string' },
    experiment: { type: 'string', multiple: true } }, 'runs');
  if (f.positionals.length > 0) throw new CommandUsageError(`tunehive runs takes no positional arguments (got ${JSON.stringify(f.positionals[0])}); quote the filter: --filter "metrics.f1 > 0.9"`);
  const output = f.values.output ?? 'table';
  if (!['table', 'json', 'csv'].includes(output)) throw new CommandUsageError(`--output must be table, json or csv (got ${JSON.stringify(output)})`);
  const max = intFlag(f.values.max, 'max', 100, 1, MAX_MAX);
  const filter = f.values.filter ?? '';
  checkFilter(filter);
  const orderBy = f.values['order-by'] ?? [];
  const orderKeys = checkOrderBy(orderBy);
  const { base, auth } = commandClient(f.values);

  const runs: any[] = [];
  let token: string | null = null;
  let emptyPages = 0;
  // Bounded: at most `max` runs are kept, and a run of empty pages (a server that hands out
  // tokens without runs) ends the loop.
  do {
    const q = new URLSearchParams();
    if (filter.trim()) q.set('filter', filter);
    for (const o of orderBy) q.append('orderBy', o);
    for (const e of f.values.experiment ?? []) q.append('experiment', e);
    q.set('pageSize', String(Math.min(PAGE_MAX, max - runs.length)));
    if (token) q.set('pageToken', token);
    const page: { runs: any[]; nextPageToken: string | null } = await api(base, 'GET', `/api/v1/runs?${q}`, undefined, auth).catch((err: unknown) => {
      throw serverFilterError(err, filter, orderBy);
    });
    runs.push(...page.runs.slice(0, max - runs.length));
    emptyPages = page.runs.length === 0 ? emptyPages + 1 : 0;
    token = emptyPages < 10 ? page.nextPageToken || null : null;
  } while (token && runs.length < max);

  if (output === 'json') console.log(JSON.stringify({ runs, nextPageToken: token }, null, 2));
  else if (output === 'csv') process.stdout.write(toCsv(runs));
  else {
    console.log(runs.length ? runTable(runs, [...orderKeys, ...filterKeys(filter)]) : 'no runs match');
    if (token) say(`(first ${runs.length}; more match: raise --max)`);
  }
  return 0;
}

/** The keys a filter names, in order, for the table's columns. */
function filterKeys(text: string): Key[] {
  const p = parseFilter(text);
  const out: Key[] = [];
  const walk = (n: any) => { if (!n) return; if (n.type === 'clause') out.push(n.clause.key); else n.items.forEach(walk); };
  if (p.ok) walk(p.filter);
  return out;
}

const keyLabel = (k: Key) => `${k.kind === 'metric' ? 'metrics' : k.kind === 'param' ? 'params' : k.kind === 'tag' ? 'tags' : 'attributes'}.${k.name}`;
const ATTRIBUTE_FIELD: Record<string, string> = { run_id: 'id', run_name: 'name', status: 'status', start_time: 'startTime', end_time: 'endTime', experiment_id: 'experimentId', state: 'state', parent_run_id: 'parentRunId' };

function cellOf(run: any, k: Key): string {
  if (k.kind === 'metric') return fmtValue(run.metrics?.[k.name]?.value);
  if (k.kind === 'param') return fmtValue(run.params?.[k.name]);
  if (k.kind === 'tag') return fmtValue(run.tags?.[k.name]);
  const v = run[ATTRIBUTE_FIELD[k.name] ?? ''];
  return k.name === 'start_time' || k.name === 'end_time' ? when(v) : fmtValue(v);
}

const when = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
const SHOWN_ATTRIBUTES = new Set(['run_id', 'run_name', 'status', 'experiment_id']);

/** id, status, name, the keys the order and filter name, then the other metrics (up to 6 columns in all). */
export function runTable(runs: any[], named: Key[]): string {
  const cols: Key[] = [];
  const seen = new Set<string>();
  for (const k of named) {
    const label = keyLabel(k);
    if (seen.has(label) || (k.kind === 'attribute' && SHOWN_ATTRIBUTES.has(k.name))) continue;
    seen.add(label);
    cols.push(k);
  }
  const metrics = new Set<string>();
  for (const r of runs) for (const m of Object.keys(r.metrics ?? {})) metrics.add(m);
  for (const m of [...metrics].sort()) {
    if (cols.length >= 6) break;
    const k: Key = { kind: 'metric', name: m };
    if (!seen.has(keyLabel(k))) { seen.add(keyLabel(k)); cols.push(k); }
  }
  const params = (r: any) => Object.entries(r.params ?? {}).map(([k, v]) => `${safeText(k)}=${safeText(v)}`).join(' ');
  return table(['run', 'status', 'name', ...cols.map(keyLabel), 'params'],
    runs.map((r) => [String(r.id), String(r.status), safeText(r.name).slice(0, 40), ...cols.map((k) => cellOf(r, k)), params(r).slice(0, 80)]));
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  // A formula cell is neutralised as the server's export does (run-export.ts csvCell).
  const s = csvCell(safeText(v, { multiline: true }));
  return /[",\n\r]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per run: the attributes, then metrics.*, params.*, tags.* over the union of keys. */
export function toCsv(runs: any[]): string {
  const union = (pick: (r: any) => Record<string, unknown> | undefined) => [...new Set(runs.flatMap((r) => Object.keys(pick(r) ?? {})))].sort();
  const metrics = union((r) => r.metrics);
  const params = union((r) => r.params);
  const tags = union((r) => r.tags);
  const head = ['run_id', 'experiment_id', 'run_name', 'status', 'state', 'start_time', 'end_time', 'parent_run_id',
    ...metrics.map((m) => `metrics.${m}`), ...params.map((p) => `params.${p}`), ...tags.map((t) => `tags.${t}`)];
  const rows = runs.map((r) => [r.id, r.experimentId, r.name, r.status, r.state, r.startTime, r.endTime, r.parentRunId,
    ...metrics.map((m) => r.metrics?.[m]?.value), ...params.map((p) => r.params?.[p]), ...tags.map((t) => r.tags?.[t])]);
  return [head, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

async function compare(args: string[]): Promise<number> {
  const f = commandFlags(args, { output: { type: 'string' } }, 'compare');
  const ids = f.positionals;
  if (ids.length < 2 || ids.length > 20) throw new CommandUsageError(`tunehive compare needs 2 to 20 run ids (got ${ids.length}): tunehive compare RUN1 RUN2 [RUN3 ...]`);
  const output = f.values.output ?? 'table';
  if (!['table', 'json'].includes(output)) throw new CommandUsageError(`--output must be table or json (got ${JSON.stringify(output)})`);
  const { base, auth } = commandClient(f.values);
  const c = await api(base, 'GET', `/api/v1/runs/compare?ids=${encodeURIComponent(ids.join(','))}`, undefined, auth);
  if (output === 'json') console.log(JSON.stringify(c, null, 2));
  else console.log(comparisonTable(c));
  return 0;
}

/** The comparison as one table: `*` marks a key whose values differ between the runs. */
export function comparisonTable(c: any): string {
  const runs: any[] = c.runs;
  const rows: string[][] = [];
  const blank = runs.map(() => '');
  rows.push(['', 'name', ...runs.map((r) => safeText(r.name).slice(0, 30))]);
  rows.push(['', 'status', ...runs.map((r) => `${r.status}${r.state !== r.status ? ` (${safeText(r.state)})` : ''}`)]);
  rows.push(['', 'experiment', ...runs.map((r) => safeText(r.experimentId))]);
  const section = (title: string, list: any[], cell: (row: any, i: number) => string) => {
    rows.push(['', `${title}:`, ...blank]);
    if (list.length === 0) rows.push(['', '  (none)', ...blank]);
    for (const row of list) rows.push([row.differs ? '*' : '', `  ${safeText(row.key)}`, ...runs.map((_, i) => cell(row, i))]);
  };
  section('params', c.params, (row, i) => fmtValue(row.values[i]).slice(0, 40));
  section('tags', c.tags, (row, i) => fmtValue(row.values[i]).slice(0, 40));
  section('metrics (latest [min..max] n=points, last step)', c.metrics, (row, i) => {
    const s = row.runs[i];
    return s ? `${fmtValue(s.latest)} [${fmtValue(s.min)}..${fmtValue(s.max)}] n=${s.count} @${s.lastStep}${s.truncated ? '~' : ''}` : '-';
  });
  const notes = ['* the runs differ'];
  if (c.metrics.some((m: any) => m.runs.some((s: any) => s?.truncated))) notes.push('~ min/max over the newest points only');
  if (c.metricsLeftOut > 0) notes.push(`${c.metricsLeftOut} more metrics not shown`);
  return `${table(['', 'run', ...runs.map((r) => String(r.id))], rows)}\n\n${notes.join('; ')}`;
}

async function tag(args: string[]): Promise<number> {
  const f = commandFlags(args, { delete: { type: 'string', multiple: true } }, 'tag');
  const [run, ...pairs] = f.positionals;
  if (!run) throw new CommandUsageError('tunehive tag needs a run id: tunehive tag RUN key=value [key2=value2 ...] [--delete key]');
  const tags: Record<string, string | null> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CommandUsageError(`tag ${JSON.stringify(p)} is not key=value (to delete a tag: --delete ${eq === 0 ? 'KEY' : p})`);
    const key = p.slice(0, eq);
    if (key.length > RUN_LIMITS.tagKeyLength) throw new CommandUsageError(`tag key ${JSON.stringify(key.slice(0, 40))}… is longer than ${RUN_LIMITS.tagKeyLength} characters`);
    if (p.length - eq - 1 > RUN_LIMITS.tagValueLength) throw new CommandUsageError(`the value of tag ${JSON.stringify(key)} is longer than ${RUN_LIMITS.tagValueLength} characters`);
    tags[key] = p.slice(eq + 1);
  }
  for (const k of f.values.delete ?? []) {
    if (k in tags) throw new CommandUsageError(`tag ${JSON.stringify(k)} is both set and deleted`);
    tags[k] = null;
  }
  if (Object.keys(tags).length === 0) throw new CommandUsageError('tunehive tag needs at least one key=value or --delete key');
  const { base, auth } = commandClient(f.values);
  const r = await api(base, 'PATCH', `/api/v1/runs/${encodeURIComponent(run)}`, { text: JSON.stringify({ tags }), type: 'application/json' }, auth);
  const set = Object.keys(tags).filter((k) => tags[k] !== null);
  const removed = Object.keys(tags).filter((k) => tags[k] === null);
  say(`run ${safeText(run)}: ${[set.length ? `set ${set.map((k) => safeText(k)).join(', ')}` : '', removed.length ? `deleted ${removed.map((k) => safeText(k)).join(', ')}` : ''].filter(Boolean).join('; ')}`);
  if (r && r.tags) console.log(table(['tag', 'value'], Object.entries(r.tags as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, String(v).slice(0, 80)])));
  return 0;
}

async function note(args: string[]): Promise<number> {
  const f = commandFlags(args, { file: { type: 'string' } }, 'note');
  const [run, text, ...extra] = f.positionals;
  if (!run) throw new CommandUsageError('tunehive note needs a run id and the note: tunehive note RUN "text" (or --file NOTE.md, - for stdin)');
  if (extra.length) throw new CommandUsageError(`tunehive note takes one text argument; quote it: tunehive note ${safeText(run)} "the whole note"`);
  if ((text === undefined) === (f.values.file === undefined)) throw new CommandUsageError('tunehive note needs the note as one argument or --file F (not both)');
  let body: string;
  if (f.values.file !== undefined) {
    try {
      body = readFileSync(f.values.file === '-' ? 0 : f.values.file, 'utf8');
    } catch (err) {
      throw new CommandUsageError(`cannot read ${f.values.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
  } else body = text!;
  const bytes = Buffer.byteLength(body);
  if (bytes > RUN_LIMITS.noteBytes) throw new CommandUsageError(`the note is ${bytes} bytes; a run's note holds at most ${RUN_LIMITS.noteBytes} (64 KiB): store longer text as an artifact`);
  const { base, auth } = commandClient(f.values);
  await api(base, 'PATCH', `/api/v1/runs/${encodeURIComponent(run)}`, { text: JSON.stringify({ note: body }), type: 'application/json' }, auth);
  say(`run ${safeText(run)}: note set (${bytes} bytes)`);
  return 0;
}
