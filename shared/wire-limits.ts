/**
 * What a message from a worker (or an ask/tell client) may carry. The worker checks its own
 * output too, but the coordinator cannot trust any sender: these checks run at the service
 * edge on every message, so NaN, forged rows or megabyte names never reach Redis or a sampler.
 */
import { TunehiveError, type ErrorCode, type FieldError } from './errors.js';
import { DEFAULT_TRIAL_LIMITS, METRIC_NAME, type StudySpec } from './study-spec.js';

export const WIRE_LIMITS = {
  /** Metric names: the spec's charset (no tab, newline or control characters) and length. */
  metricNameLength: 200,
  /** Points in one metric batch (the worker sends at most 500). */
  batchPoints: 10_000,
  /** Distinct metric names per trial: each is a Redis key of its own. */
  metricNamesPerTrial: 1_000,
  reasonBytes: 4 * 1024,
  stderrTailBytes: 16 * 1024,
  idLength: 200,
  signalLength: 32,
  hardwareBytes: 64 * 1024,
  /** Point times: from 2000-01-01 to one day ahead of the coordinator's clock. */
  minTimeMs: Date.UTC(2000, 0, 1),
  futureTimeMs: 24 * 3600 * 1000,
} as const;

/**
 * An error that cannot heal by retrying: the stream ends with a non-retriable gRPC status
 * (the code says which) instead of UNAVAILABLE. `trialAtFault` asks the coordinator to record
 * the trial FAILED with the message first, so a trial never waits on a sender that will only
 * send the same bad message again.
 */
export class UnrecoverableError extends TunehiveError {
  constructor(code: ErrorCode, message: string, fields: FieldError[] = [], readonly trialAtFault = false) {
    super(code, message, fields);
    this.name = 'UnrecoverableError';
  }
}

const invalid = (field: string, reason: string) => new UnrecoverableError('TH_ERR_WIRE_INVALID', `${field}: ${reason}`, [{ field, reason }]);
const tooLarge = (field: string, reason: string) => new UnrecoverableError('TH_ERR_WIRE_TOO_LARGE', `${field}: ${reason}`, [{ field, reason }]);
/** A bounded preview of a bad value, for the error message (never the whole 3 MiB). */
const preview = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) + (v.length > 40 ? `… (${v.length} chars)` : '') : String(v);
  return s.slice(0, 80);
};

/** Each check returns why a value is refused, or undefined when it is fine. */
export function checkMetricName(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length > WIRE_LIMITS.metricNameLength) return `longer than ${WIRE_LIMITS.metricNameLength} characters (${name.length})`;
  if (!METRIC_NAME.test(name)) return `${preview(name)} is not a metric name (a letter or _, then letters, digits, _ . / -; at most 100)`;
  return undefined;
}

/** NaN and ±Infinity would poison a sampler's history or fake a reached goal. */
export function checkValue(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? undefined : `must be a finite number (got ${preview(value)})`;
}

export function checkStep(step: unknown): string | undefined {
  return Number.isSafeInteger(step) && (step as number) >= 0 ? undefined : `must be an integer from 0 to 2^53-1 (got ${preview(step)})`;
}

/** Batches are numbered from 1; the store reads 0 as "the next one" (ask/tell), which no replay check covers. */
export function checkSeq(seq: unknown): string | undefined {
  return Number.isSafeInteger(seq) && (seq as number) >= 1 ? undefined : `must be an integer from 1 to 2^53-1 (got ${preview(seq)})`;
}

export function checkTimeMs(t: unknown, now = Date.now()): string | undefined {
  if (!Number.isInteger(t)) return `must be an integer number of milliseconds (got ${preview(t)})`;
  if ((t as number) < WIRE_LIMITS.minTimeMs || (t as number) > now + WIRE_LIMITS.futureTimeMs) return `${t as number} is outside 2000-01-01 .. one day from now`;
  return undefined;
}

const bounded = (field: string, v: unknown, max: number, unit: 'chars' | 'bytes' = 'chars'): void => {
  if (v === undefined || v === null) return;
  if (typeof v !== 'string') throw invalid(field, 'must be a string');
  const size = unit === 'bytes' ? Buffer.byteLength(v) : v.length;
  if (size > max) throw tooLarge(field, `${size} ${unit} is more than the ${max} allowed`);
};

export interface WirePoint { name: string; step: number; value: number; timeMs: number }

/** Validates one metric batch (and its seq, from a worker); throws an UnrecoverableError naming the first bad part. */
export function checkBatch(points: readonly WirePoint[], now = Date.now(), seq?: unknown): void {
  const badSeq = seq === undefined ? undefined : checkSeq(seq);
  if (badSeq) throw invalid('metrics.seq', badSeq);
  if (points.length > WIRE_LIMITS.batchPoints) throw tooLarge('metrics.points', `${points.length} points in one batch (at most ${WIRE_LIMITS.batchPoints})`);
  // A batch repeats a few names: each is checked once (the regex was most of this loop's cost).
  const goodNames = new Set<string>();
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const nameOk = typeof p.name === 'string' && (goodNames.has(p.name) || (checkMetricName(p.name) === undefined && goodNames.add(p.name) !== undefined));
    // The common case allocates nothing; a bad point takes the path below, which names the problem.
    if (nameOk && checkValue(p.value) === undefined && checkStep(p.step) === undefined && checkTimeMs(p.timeMs, now) === undefined) continue;
    const at = `metrics.points[${i}]`;
    if (typeof p.name === 'string' && p.name.length > WIRE_LIMITS.metricNameLength) throw tooLarge(`${at}.name`, checkMetricName(p.name)!);
    const bad: Array<[string, string | undefined]> = [['name', checkMetricName(p.name)], ['value', checkValue(p.value)], ['step', checkStep(p.step)], ['timeMs', checkTimeMs(p.timeMs, now)]];
    for (const [field, reason] of bad) if (reason) throw invalid(`${at}.${field}`, reason);
  }
}

export function checkStarted(s: { trialId: string; workerId: string; deliveryId?: string; hardware?: unknown }): void {
  bounded('started.trialId', s.trialId, WIRE_LIMITS.idLength);
  bounded('started.workerId', s.workerId, WIRE_LIMITS.idLength);
  bounded('started.deliveryId', s.deliveryId, WIRE_LIMITS.idLength);
  if (s.hardware !== undefined && s.hardware !== null) {
    const size = Buffer.byteLength(JSON.stringify(s.hardware));
    if (size > WIRE_LIMITS.hardwareBytes) throw tooLarge('started.hardware', `${size} bytes is more than the ${WIRE_LIMITS.hardwareBytes} allowed`);
  }
}

export function checkFinished(f: { reason: string; stderrTail: string; signal: string; truncatedLines?: number; droppedBytes?: number }): void {
  for (const [field, v] of [['finished.truncatedLines', f.truncatedLines], ['finished.droppedBytes', f.droppedBytes]] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) throw invalid(field, `must be a whole number >= 0 (got ${v})`);
  }
  bounded('finished.reason', f.reason, WIRE_LIMITS.reasonBytes, 'bytes');
  bounded('finished.stderrTail', f.stderrTail, WIRE_LIMITS.stderrTailBytes, 'bytes');
  bounded('finished.signal', f.signal, WIRE_LIMITS.signalLength);
}

/**
 * The program's start and exit from Finished, when both are plausible times in order; otherwise
 * none. Never an error: they only time the trial (bench:load's latencies), and a worker clock
 * stepped back by NTP mid-trial must not fail a trial that ran well.
 */
export function programTimes(f: { programStartedAtMs?: number; programExitedAtMs?: number }, now = Date.now()): { programStartedAt: number; programExitedAt: number } | undefined {
  const s = f.programStartedAtMs;
  const e = f.programExitedAtMs;
  if (!s || !e || checkTimeMs(s, now) !== undefined || checkTimeMs(e, now) !== undefined || e < s) return undefined;
  return { programStartedAt: s, programExitedAt: e };
}

/** Marks an error as the trial's own fault: it is recorded FAILED before the stream ends. */
export function blameTrial(e: UnrecoverableError): UnrecoverableError {
  return new UnrecoverableError(e.code, e.message, e.fields, true);
}

/** The trial's point cap; studies stored before spec limits existed get the default. */
export function maxMetricPoints(spec: StudySpec): number {
  return spec.limits?.maxMetricPoints ?? DEFAULT_TRIAL_LIMITS.maxMetricPoints;
}
