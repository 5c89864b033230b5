/**
 * Metric lines as Katib's collectors read them (spec `trial.metricsCollector`), beside the
 * native forms of parse-line.ts: one line parser per trial, chosen by the collector's format.
 *
 * TEXT (Katib's file-metricscollector): a line counts only if it contains one of the kept
 * metric names; a first space-separated token in RFC 3339 form is the report's time; every
 * filter is applied with find-all, group 1 the name, group 2 the value; only kept names whose
 * value is a number are reported. Filters run on lines of at most MAX_FILTER_LINE_CHARS.
 *
 * JSON: one object per line; a kept name's value is read from a string (as Katib requires) or a
 * number (which Katib skips without a word: accepted here); `timestamp` is an RFC 3339 string or
 * epoch seconds.
 *
 * A report has no step of its own: the caller numbers each metric's reports 1, 2, 3, ...
 * The checkpoint mark `tunehive.checkpoint=N` is recognised in every format.
 */
import type { MetricsCollector } from '../../shared/study-spec.js';
import { compileFilter, KATIB_DEFAULT_FILTER, MAX_FILTER_LINE_CHARS } from '../../shared/metric-filters.js';
import { checkTimeMs } from '../../shared/wire-limits.js';
import { parseMetricLine, type ParsedLine } from './parse-line.js';

export type LineParser = (line: string) => ParsedLine | undefined;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const CHECKPOINT_LINE = /^tunehive\.checkpoint=\d+$/;
/** RFC 3339 with optional fraction (Go's RFC3339Nano parse accepts any fraction length). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The parser for a collector; without one, the native lines. */
export function lineParser(c: MetricsCollector | undefined): LineParser {
  if (!c) return parseMetricLine;
  const kept = new Set(c.metrics);
  const withMark = (parse: LineParser): LineParser => (line) => (CHECKPOINT_LINE.test(line.trim()) ? parseMetricLine(line) : parse(line));
  if (c.format === 'json') return withMark((line) => parseJsonLine(line, kept));
  const filters = (c.filters ?? [KATIB_DEFAULT_FILTER]).map(compileFilter);
  return withMark((line) => parseTextLine(line, kept, filters));
}

/** A time the coordinator accepts, or undefined (then the time of reading is used). */
function acceptedTime(ms: number): number | undefined {
  const t = Math.round(ms);
  return Number.isFinite(ms) && checkTimeMs(t) === undefined ? t : undefined;
}

export function rfc3339Ms(text: string): number | undefined {
  if (!RFC3339.test(text)) return undefined;
  return acceptedTime(Date.parse(text));
}

export function parseTextLine(line: string, kept: ReadonlySet<string>, filters: readonly RegExp[]): ParsedLine | undefined {
  if (line.length > MAX_FILTER_LINE_CHARS) return undefined;
  let mentions = false;
  for (const name of kept) if (line.includes(name)) { mentions = true; break; }
  if (!mentions) return undefined;
  const values: ParsedLine['values'] = [];
  for (const re of filters) {
    re.lastIndex = 0;
    for (const m of line.matchAll(re)) {
      const name = m[1]?.trim();
      const text = m[2]?.trim();
      if (name === undefined || text === undefined || !kept.has(name) || !NUMBER.test(text)) continue;
      const value = Number(text);
      if (Number.isFinite(value)) values.push({ name, value });
    }
  }
  if (values.length === 0) return undefined;
  const out: ParsedLine = { values };
  const timeMs = rfc3339Ms(line.split(' ', 1)[0]!);
  if (timeMs !== undefined) out.timeMs = timeMs;
  return out;
}

export function parseJsonLine(line: string, kept: ReadonlySet<string>): ParsedLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  const values: ParsedLine['values'] = [];
  for (const name of kept) {
    if (!Object.hasOwn(o, name)) continue;
    const v = o[name];
    const value = typeof v === 'string' && NUMBER.test(v.trim()) ? Number(v.trim()) : typeof v === 'number' ? v : NaN;
    if (Number.isFinite(value)) values.push({ name, value });
  }
  if (values.length === 0) return undefined;
  const out: ParsedLine = { values };
  const ts = o.timestamp;
  const timeMs = typeof ts === 'string' ? rfc3339Ms(ts.trim()) : typeof ts === 'number' ? acceptedTime(ts * 1000) : undefined;
  if (timeMs !== undefined) out.timeMs = timeMs;
  return out;
}
