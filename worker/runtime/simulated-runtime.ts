/**
 * The simulated runtime: no process at all. A trial "runs" inside the agent, writing metric
 * lines to its stdout stream as a program would and exiting 0, so a load test measures the
 * coordinator, the queue and the agent's own path alone (`tunehive worker --runtime simulated`).
 * It is named "simulated" wherever a runtime is named (worker registration, provenance, logs):
 * its results are never mistaken for a real program's.
 *
 * What it prints comes from the trial: the objective value is the sum of the trial's numeric
 * params (booleans 0/1; others ignored), so samplers see a landscape that depends on what they
 * chose. The trial's env tunes it (the spec's `trial.env`, bounded; absent: the runtime's
 * defaults): SIMULATED_METRIC (name, default "score"), SIMULATED_STEPS (lines, default 1),
 * SIMULATED_POINTS (values per line: the metric, then `<metric>_2`, ...; default 1) and
 * SIMULATED_MS (the trial's wall time, spread over its lines; default 0).
 */
import { PassThrough } from 'node:stream';
import { exitLatch, type ExitInfo, type LaunchContext, type LaunchSpec, type RunningProgram, type Runtime } from './runtime.js';

export interface SimulatedSettings {
  metric: string;
  steps: number;
  points: number;
  ms: number;
}

export const SIMULATED_DEFAULTS: SimulatedSettings = { metric: 'score', steps: 1, points: 1, ms: 0 };

/** Bounds: a simulated trial is a load-test tool, never an unbounded writer. */
const LIMITS = { steps: 10_000_000, points: 100, ms: 86_400_000 } as const;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,90}$/;

/** The settings for one trial, or why they are refused (a start error, like a bad command). */
export function simulatedSettings(env: Record<string, string>, defaults: SimulatedSettings = SIMULATED_DEFAULTS): SimulatedSettings | string {
  const s = { ...defaults };
  if (env.SIMULATED_METRIC !== undefined) {
    if (!METRIC_NAME.test(env.SIMULATED_METRIC)) return `SIMULATED_METRIC must be a metric name (letters, digits, _ . / -; at most 91 characters), got ${JSON.stringify(env.SIMULATED_METRIC.slice(0, 100))}`;
    s.metric = env.SIMULATED_METRIC;
  }
  for (const [key, name, min] of [['steps', 'SIMULATED_STEPS', 0], ['points', 'SIMULATED_POINTS', 1], ['ms', 'SIMULATED_MS', 0]] as const) {
    const text = env[name];
    if (text === undefined) continue;
    const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= LIMITS[key])) return `${name} must be an integer from ${min} to ${LIMITS[key]}, got ${JSON.stringify(text.slice(0, 100))}`;
    s[key] = n;
  }
  return s;
}

/** The objective from the params (TUNEHIVE_PARAMS): the sum of the numeric ones. */
export function simulatedObjective(paramsJson: string | undefined): number {
  let params: unknown;
  try {
    params = JSON.parse(paramsJson ?? '{}');
  } catch {
    return 0;
  }
  if (typeof params !== 'object' || params === null) return 0;
  let sum = 0;
  for (const v of Object.values(params)) {
    if (typeof v === 'number' && Number.isFinite(v)) sum += v;
    else if (typeof v === 'boolean') sum += v ? 1 : 0;
  }
  return Number.isFinite(sum) ? sum : 0;
}

/** Line `step` of `steps` (1-based): the objective approached linearly, reached on the last line. */
export function simulatedLine(s: SimulatedSettings, objective: number, step: number): string {
  const v = s.steps <= 1 ? objective : objective * (step / s.steps);
  const parts = [`${s.metric}=${v}`];
  for (let k = 2; k <= s.points; k++) parts.push(`${s.metric}_${k}=${v + k}`);
  return `${parts.join(' ')}\n`;
}

export class SimulatedRuntime implements Runtime {
  readonly name = 'simulated';

  constructor(private readonly defaults: SimulatedSettings = SIMULATED_DEFAULTS) {}

  /** No working directory: there is no program whose code could be versioned. */
  context(spec: LaunchSpec): LaunchContext {
    return { env: { ...spec.env } };
  }

  launch(spec: LaunchSpec): RunningProgram {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const latch = exitLatch();
    const { exited } = latch;
    const finish = (e: ExitInfo) => {
      if (latch.done) return;
      clearTimeout(timer);
      stdout.end();
      stderr.end();
      latch.finish(e);
    };
    let timer: NodeJS.Timeout | undefined;
    const settings = simulatedSettings(spec.env, this.defaults);
    if (typeof settings === 'string') {
      finish({ code: null, signal: null, startError: `cannot start the simulated trial: ${settings}` });
      return { stdout, stderr, exited, stop: () => exited };
    }
    const objective = simulatedObjective(spec.env.TUNEHIVE_PARAMS);
    const gapMs = settings.steps > 0 ? settings.ms / settings.steps : settings.ms;
    const t0 = Date.now();
    let step = 0;
    // One line per turn, paced by the wall time and by the reader (backpressure: the agent stops
    // reading while its metric window is full, as it would with a real program's pipe).
    const next = () => {
      timer = undefined;
      if (latch.done) return;
      if (step >= settings.steps) {
        const left = t0 + settings.ms - Date.now();
        if (left > 0) timer = setTimeout(() => finish({ code: 0, signal: null }), left);
        else finish({ code: 0, signal: null });
        return;
      }
      step++;
      const open = stdout.write(simulatedLine(settings, objective, step));
      const wait = Math.max(0, t0 + gapMs * step - Date.now());
      const go = () => (wait > 0 ? (timer = setTimeout(next, wait)) : setImmediate(next));
      if (open) go();
      else stdout.once('drain', go);
    };
    // Started on the next turn, as a program is: the caller attaches its readers first.
    setImmediate(next);
    return {
      stdout, stderr, exited,
      // A program with the default SIGTERM handler: it ends at once, by that signal.
      stop: async () => {
        finish({ code: null, signal: 'SIGTERM' });
        return exited;
      },
    };
  }
}
