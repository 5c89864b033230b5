/**
 * Reads metrics from a trial program's stdout. Two forms are recognised, one per line:
 *
 *   Katib style:  `epoch=3 loss=0.21 accuracy=0.93`  (every token name=number; spaces separate)
 *   JSON object:  `{"epoch": 3, "loss": 0.21}`       (its finite numeric fields)
 *
 * Any other line is ordinary output. A line's step is its `step`, `epoch`, `iteration` or
 * `global_step` value (first found; only a step the coordinator accepts, an integer from 0 to
 * 2^53-1: it refuses a batch with any other and fails the trial); without one, the caller
 * numbers the reports of each metric 1, 2, 3, ... Names are letters, digits and _ . / - .
 */
import { checkStep } from '../../shared/wire-limits.js';
import { RUN_LIMITS } from '../../shared/run-model.js';
import { TAG_KEY } from '../../shared/study-spec.js';

export interface ParsedLine {
  values: Array<{ name: string; value: number }>;
  step?: number;
  /** The time the line itself gives (Katib's timestamp prefix); otherwise the time it was read. */
  timeMs?: number;
}

const STEP_KEYS = ['step', 'epoch', 'iteration', 'global_step'];
const NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,99}$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseMetricLine(raw: string): ParsedLine | undefined {
  const line = raw.trim();
  // Length is bounded before this by the agent's line cap (LineSplitter), the one rule for it.
  if (line === '') return undefined;
  const values = line.startsWith('{') ? parseJson(line) : parseKatib(line);
  if (!values || values.length === 0) return undefined;
  const out: ParsedLine = { values };
  for (const key of STEP_KEYS) {
    const s = values.find((v) => v.name === key);
    if (s && checkStep(s.value) === undefined) {
      out.step = s.value;
      break;
    }
  }
  return out;
}

function parseKatib(line: string): ParsedLine['values'] | undefined {
  const values: ParsedLine['values'] = [];
  for (const token of line.split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq <= 0) return undefined;
    const name = token.slice(0, eq);
    const text = token.slice(eq + 1);
    if (!NAME.test(name) || !NUMBER.test(text)) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) return undefined;
    values.push({ name, value });
  }
  return values;
}

function parseJson(line: string): ParsedLine['values'] | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  return Object.entries(obj as Record<string, unknown>)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]) && NAME.test(e[0]))
    .map(([name, value]) => ({ name, value }));
}

/** Turns parsed lines into points with steps: the line's own step, or a per-metric report count. */
export class StepCounter {
  private readonly counts = new Map<string, number>();

  points(parsed: ParsedLine, timeMs: number): Array<{ name: string; value: number; step: number; timeMs: number }> {
    return parsed.values.map(({ name, value }) => {
      const n = (this.counts.get(name) ?? 0) + 1;
      this.counts.set(name, n);
      return { name, value, step: parsed.step ?? n, timeMs: parsed.timeMs ?? timeMs };
    });
  }
}

/**
 * Lines by which a program tells the worker something other than a metric (read before
 * metrics, so `tunehive.data_version=3` is never taken for a metric named tunehive.data_version):
 *   `tunehive.tag KEY=VALUE`        a tag on the run (VALUE is the rest of the line, spaces kept)
 *   `tunehive.data_version=VALUE`   the data version, which wins over the worker's own
 * A malformed one is `{ invalid }`, so the worker can say why it ignored it.
 */
export type ControlLine = { tag: { key: string; value: string } } | { dataVersion: string } | { invalid: string };

const TAG_PREFIX = 'tunehive.tag ';
const DATA_VERSION_PREFIX = 'tunehive.data_version=';

export function parseControlLine(raw: string): ControlLine | undefined {
  const line = raw.trim();
  if (line.startsWith(TAG_PREFIX)) {
    const body = line.slice(TAG_PREFIX.length).trim();
    const eq = body.indexOf('=');
    if (eq <= 0) return { invalid: 'a tag line is `tunehive.tag key=value`' };
    const key = body.slice(0, eq).trim();
    const value = body.slice(eq + 1).trim();
    if (!TAG_KEY.test(key)) return { invalid: `tag key ${JSON.stringify(key.slice(0, 60))} must be 1 to 250 letters, digits, _ . - / and spaces` };
    if (value.length > RUN_LIMITS.tagValueLength) return { invalid: `tag ${key}: the value is longer than ${RUN_LIMITS.tagValueLength} characters` };
    return { tag: { key, value } };
  }
  if (line.startsWith(DATA_VERSION_PREFIX)) {
    const v = line.slice(DATA_VERSION_PREFIX.length).trim();
    if (v === '' || v.length > 250) return { invalid: 'tunehive.data_version= needs a value of 1 to 250 characters' };
    return { dataVersion: v };
  }
  return undefined;
}
