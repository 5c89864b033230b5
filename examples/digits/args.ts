/** Command-line hyperparameters and TUNEHIVE_* environment of the digits trial program, validated. */

export interface TrainOptions {
  lr: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  l2: number;
  momentum: number;
  seed: number;
}

export interface TrialEnv {
  /** Folder for `model.json`; undefined means no checkpoints. */
  checkpointDir: string | undefined;
  resume: boolean;
  notifyCheckpoint: boolean;
  /** Total epochs to have completed at exit; overrides --epochs so a resumed trial can be given more. */
  budget: number | undefined;
  epochDelayMs: number;
  /** TUNEHIVE_ARTIFACT_DIR: where the trained weights and the confusion matrix go at the end. */
  artifactDir: string | undefined;
}

/** A bad argument or environment value: the program prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: train.ts [--lr 0.05] [--hidden 64] [--epochs 20] [--batch-size 32] [--l2 1e-4] [--momentum 0.9] [--seed 1]
env: TUNEHIVE_CHECKPOINT_DIR, TUNEHIVE_RESUME=1, TUNEHIVE_CHECKPOINT_NOTIFY=1, TUNEHIVE_BUDGET=<epochs>, TUNEHIVE_EPOCH_DELAY_MS=<ms>`;

export const DEFAULTS: Readonly<TrainOptions> = {
  lr: 0.05,
  hidden: 64,
  epochs: 20,
  batchSize: 32,
  l2: 1e-4,
  momentum: 0.9,
  seed: 1,
};

type Kind = 'positive' | 'nonnegative' | 'unit' | 'int';
interface Spec {
  key: keyof TrainOptions;
  kind: Kind;
  min?: number;
  max?: number;
}

// Integer caps keep a typo (--hidden 640000) from silently allocating gigabytes or running for days.
const FLAGS: Record<string, Spec> = {
  '--lr': { key: 'lr', kind: 'positive' },
  '--hidden': { key: 'hidden', kind: 'int', min: 1, max: 4096 },
  '--epochs': { key: 'epochs', kind: 'int', min: 1, max: 100_000 },
  '--batch-size': { key: 'batchSize', kind: 'int', min: 1, max: 100_000 },
  '--l2': { key: 'l2', kind: 'nonnegative' },
  '--momentum': { key: 'momentum', kind: 'unit' },
  '--seed': { key: 'seed', kind: 'int', min: 0, max: 0xffffffff },
};

// Number() alone would accept '', ' ', '0x1f' and 'Infinity'; hyperparameters must be plain decimals.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseValue(flag: string, spec: Spec, text: string): number {
  const v = DECIMAL.test(text) ? Number(text) : NaN;
  const shown = JSON.stringify(text);
  if (!Number.isFinite(v)) throw new UsageError(`${flag} must be a number, got ${shown}`);
  switch (spec.kind) {
    case 'positive':
      if (!(v > 0)) throw new UsageError(`${flag} must be greater than 0, got ${shown}`);
      break;
    case 'nonnegative':
      if (!(v >= 0)) throw new UsageError(`${flag} must be 0 or more, got ${shown}`);
      break;
    case 'unit':
      // momentum 1 never forgets a gradient, so the step size grows without bound.
      if (!(v >= 0 && v < 1)) throw new UsageError(`${flag} must be in [0, 1), got ${shown}`);
      break;
    case 'int':
      if (!Number.isInteger(v) || v < (spec.min ?? -Infinity) || v > (spec.max ?? Infinity)) {
        throw new UsageError(`${flag} must be an integer from ${spec.min} to ${spec.max}, got ${shown}`);
      }
      break;
  }
  return v;
}

/** Parses `--flag value` and `--flag=value`; returns 'help' for --help / -h. */
export function parseArgs(argv: readonly string[]): TrainOptions | 'help' {
  const opts: TrainOptions = { ...DEFAULTS };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[flag];
    if (spec === undefined) throw new UsageError(`unknown argument ${JSON.stringify(arg)} (known: ${Object.keys(FLAGS).join(', ')})`);
    // A repeated flag is almost always a templating mistake in the study spec; last-wins would hide it.
    if (seen.has(flag)) throw new UsageError(`${flag} given more than once`);
    seen.add(flag);
    let text: string;
    if (flag !== arg) {
      text = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      text = next;
      i++;
    }
    opts[spec.key] = parseValue(flag, spec, text);
  }
  return opts;
}

function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = env[name];
  if (v === undefined || v === '' || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw new UsageError(`${name} must be 1 or 0, got ${JSON.stringify(v)}`);
}

function envInt(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

export function readTrialEnv(env: NodeJS.ProcessEnv): TrialEnv {
  const dir = env.TUNEHIVE_CHECKPOINT_DIR;
  return {
    checkpointDir: dir === undefined || dir === '' ? undefined : dir,
    resume: envFlag(env, 'TUNEHIVE_RESUME'),
    notifyCheckpoint: envFlag(env, 'TUNEHIVE_CHECKPOINT_NOTIFY'),
    budget: envInt(env, 'TUNEHIVE_BUDGET', 1, 100_000),
    epochDelayMs: envInt(env, 'TUNEHIVE_EPOCH_DELAY_MS', 0, 3_600_000) ?? 0,
    artifactDir: env.TUNEHIVE_ARTIFACT_DIR ? env.TUNEHIVE_ARTIFACT_DIR : undefined,
  };
}
