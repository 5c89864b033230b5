/**
 * The options of `npm run bench:load`, checked and bounded (a load test is never unbounded):
 * a clear message for anything out of range, so a typo never runs a ten-hour test.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

export const SCENARIOS = ['throughput', 'slots1000', 'horizontal'] as const;
export const MODES = ['process', 'simulated', 'both'] as const;
/** Sections the entry can run; the last three are other work packages' modules, run when present. */
export const PARTS = ['ceilings', 'trials', 'ask-tell', 'metric-ingest', 'big-study'] as const;
export type Part = (typeof PARTS)[number];

export interface LoadOptions {
  scenario: (typeof SCENARIOS)[number];
  mode: (typeof MODES)[number];
  agents: number;
  slots: number;
  studies: number;
  coordinators: number;
  /** Trials per measured run (over all its studies). */
  trials: number;
  /** Each measured run is stopped after this long. */
  durationS: number;
  /** Metric lines per simulated trial (SIMULATED_STEPS). */
  steps: number;
  /** The trial program of the process runtime and of the spawn ceiling. */
  program: string[];
  /** 0: no soak. */
  soakS: number;
  soakIntervalS: number;
  parts: Part[];
  redisUrl?: string;
  cluster: boolean;
  prefix: string;
  outDir: string;
  /** An untimed warm-up run before each measured one (JIT, connections, pools). */
  warmup: boolean;
  /** Where the agents run: their own empty folder (default), or this checkout (git/DVC capture per trial). */
  agentCwd: 'workdir' | 'repo';
}

export class OptionError extends Error {}

const HELP = `npm run bench:load -- [options]
  --scenario throughput|slots1000|horizontal   (throughput)
  --mode process|simulated|both                (both)
  --agents K (2)  --slots S (32)  --studies M (4)  --coordinators C (1)
  --trials N (2000, per measured run)  --duration SEC (60, cap of each run)
  --steps N (1: metric lines per simulated trial)  --program "/bin/echo score=1"
  --soak SEC (0: none)  --soak-interval SEC (60)
  --parts ceilings,trials,ask-tell,metric-ingest,big-study (all that exist)
  --redis-url URL (or REDIS_URL; default: a private redis-server)  --cluster
  --agent-cwd workdir|repo (workdir: agents run in their own empty folder)
  --prefix P (load-<random>)  --out DIR (bench/results)  --no-warmup`;

function int(v: string | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new OptionError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

function oneOf<T extends string>(v: string | undefined, name: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw new OptionError(`--${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

export function parseLoadOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LoadOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        scenario: { type: 'string' }, mode: { type: 'string' }, agents: { type: 'string' }, slots: { type: 'string' }, studies: { type: 'string' },
        coordinators: { type: 'string' }, trials: { type: 'string' }, duration: { type: 'string' }, steps: { type: 'string' }, program: { type: 'string' },
        soak: { type: 'string' }, 'soak-interval': { type: 'string' }, parts: { type: 'string' }, 'redis-url': { type: 'string' }, cluster: { type: 'boolean' },
        prefix: { type: 'string' }, out: { type: 'string' }, 'no-warmup': { type: 'boolean' }, 'agent-cwd': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new OptionError(`${(err as Error).message}\n\n${HELP}`);
  }
  if (values.help) return 'help';
  const s = (k: string) => values[k] as string | undefined;
  const scenario = oneOf(s('scenario'), 'scenario', SCENARIOS, 'throughput');
  // The 1,000-slot scenario is 10 agents x 100 slots unless told otherwise.
  const big = scenario === 'slots1000';
  const parts = s('parts') === undefined ? [...PARTS] : s('parts')!.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new OptionError(`--parts: unknown part ${JSON.stringify(p)} (parts: ${PARTS.join(', ')})`);
  const program = (s('program') ?? '/bin/echo score=1').split(' ').filter(Boolean);
  if (program.length === 0 || !program[0]!.startsWith('/')) throw new OptionError('--program must start with an absolute path (the trial program, e.g. "/bin/echo score=1")');
  const prefix = s('prefix') ?? `load-${randomBytes(3).toString('hex')}`;
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(prefix)) throw new OptionError(`--prefix must be lower-case letters, digits and -, starting with a letter, at most 31 characters (got ${JSON.stringify(prefix)})`);
  // The run deletes every key under its prefix at the end: never a deployment's own (`th`).
  if (!/[0-9a-f]{6}/.test(prefix)) throw new OptionError(`--prefix must contain 6 hex digits, a random part no deployment uses (the run deletes every key under it; got ${JSON.stringify(prefix)})`);
  const o: LoadOptions = {
    scenario,
    mode: oneOf(s('mode'), 'mode', MODES, big || scenario === 'horizontal' ? 'simulated' : 'both'),
    agents: int(s('agents'), 'agents', big ? 10 : 2, 1, 64),
    slots: int(s('slots'), 'slots', big ? 100 : 32, 1, 1024),
    studies: int(s('studies'), 'studies', scenario === 'horizontal' ? 8 : 4, 1, 256),
    coordinators: int(s('coordinators'), 'coordinators', scenario === 'horizontal' ? 2 : 1, 1, 8),
    trials: int(s('trials'), 'trials', 2000, 1, 1_000_000),
    durationS: int(s('duration'), 'duration', 60, 1, 86_400),
    steps: int(s('steps'), 'steps', 1, 1, 100_000),
    program,
    soakS: int(s('soak'), 'soak', 0, 0, 7 * 86_400),
    soakIntervalS: int(s('soak-interval'), 'soak-interval', 60, 1, 3600),
    parts: parts as Part[],
    ...(s('redis-url') ?? env.REDIS_URL ? { redisUrl: s('redis-url') ?? env.REDIS_URL } : {}),
    cluster: values.cluster === true,
    prefix,
    outDir: s('out') ?? 'bench/results',
    warmup: values['no-warmup'] !== true,
    agentCwd: oneOf(s('agent-cwd'), 'agent-cwd', ['workdir', 'repo'] as const, 'workdir'),
  };
  if (o.cluster && o.redisUrl) throw new OptionError('--cluster starts a local Redis Cluster; with --redis-url/REDIS_URL the harness uses that server instead: give one or the other');
  if (o.soakS > 0 && o.soakS < 3 * o.soakIntervalS) throw new OptionError(`--soak ${o.soakS} gives fewer than 3 samples at --soak-interval ${o.soakIntervalS}: growth cannot be judged`);
  return o;
}

export { HELP as LOAD_HELP };
