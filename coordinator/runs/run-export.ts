/**
 * CSV export of runs: fixed attribute columns, then one column per param, metric (latest
 * value) and tag name that exists in the searched experiments (their index-names hashes: known
 * before the first row, so the export streams with bounded memory). RFC 4180 quoting.
 */
import { keys } from '../../shared/redis-keys.js';
import type { RunView } from '../../shared/run-model.js';
import type { RedisRunStore } from './redis-run-store.js';
import type { RunSearch } from './run-store-contract.js';

export interface Column { header: string; cell(r: RunView): string }

const ATTRIBUTES: Column[] = [
  { header: 'run_id', cell: (r) => r.id }, { header: 'experiment_id', cell: (r) => r.experimentId }, { header: 'run_name', cell: (r) => r.name },
  { header: 'status', cell: (r) => r.status }, { header: 'state', cell: (r) => r.state },
  { header: 'start_time', cell: (r) => (r.startTime === null ? '' : String(r.startTime)) }, { header: 'end_time', cell: (r) => (r.endTime === null ? '' : String(r.endTime)) },
  { header: 'parent_run_id', cell: (r) => r.parentRunId ?? '' },
];

export async function exportColumns(runs: RedisRunStore, q: RunSearch): Promise<Column[]> {
  const names = new Set<string>();
  for (const e of await runs.searcher.experiments(q)) for (const n of await runs.searcher.redisClient.hkeys(keys.runIndexNames(runs.searcher.keyPrefix, e))) names.add(n);
  const sorted = [...names].sort();
  const cols = [...ATTRIBUTES];
  for (const n of sorted.filter((x) => x.startsWith('p:'))) cols.push({ header: `params.${n.slice(2)}`, cell: (r) => r.params[n.slice(2)] ?? '' });
  for (const n of sorted.filter((x) => x.startsWith('m:'))) cols.push({ header: `metrics.${n.slice(2)}`, cell: (r) => (r.metrics[n.slice(2)] ? String(r.metrics[n.slice(2)]!.value) : '') });
  for (const n of sorted.filter((x) => x.startsWith('t:'))) cols.push({ header: `tags.${n.slice(2)}`, cell: (r) => r.tags[n.slice(2)] ?? '' });
  return cols;
}

export function runCells(r: RunView, cols: readonly Column[]): string[] {
  return cols.map((c) => c.cell(r));
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `@SUM(...)`, `+cmd|...`),
 * prefixed with an apostrophe (OWASP's CSV-injection rule): tags and params are written by
 * trial programs and MLflow clients, the export is opened by the project's members. A number
 * (-0.5, +1e3) is left as it is.
 */
export function csvCell(c: string): string {
  return FORMULA_START.test(c) && !NUMBER.test(c) ? `'${c}` : c;
}

/** One CSV record: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')}\r\n`;
}
