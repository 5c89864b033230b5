/**
 * The digits demo trial program, run for real as a child process the way a worker runs it (no
 * shell), so the test covers argument handling, the stdout contract and checkpoint files together.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = 'examples/digits/train.ts';
const EPOCH_LINE = /^epoch=(\d+) loss=(\S+) accuracy=(\S+)$/;
// Every spawn pays tsx start-up (~0.3 s, more on a busy machine), so allow generous slack.
const TIMEOUT = 30_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

interface RunOptions {
  env?: Record<string, string>;
  /** Called with each complete stdout line; return true to SIGKILL the program there. */
  killWhen?: (line: string) => boolean;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // Inherited TUNEHIVE_* variables (e.g. from a worker running this suite) would change the program's behaviour.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TUNEHIVE_')) env[k] = v;
  return { ...env, ...extra };
}

function runTrainer(args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      cwd: REPO,
      env: cleanEnv(opts.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (opts.killWhen?.(line)) child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, lines: stdout.split('\n').filter((l) => l !== '') });
    });
  });
}

interface EpochLine {
  epoch: number;
  loss: number;
  accuracy: number;
  text: string;
}

function epochLines(run: Run): EpochLine[] {
  const out: EpochLine[] = [];
  for (const text of run.lines) {
    const m = EPOCH_LINE.exec(text);
    if (m) out.push({ epoch: Number(m[1]), loss: Number(m[2]), accuracy: Number(m[3]), text });
  }
  return out;
}

let uninterrupted6: Promise<Run> | undefined;
/** The reference for resume checks: 6 epochs, seed 5, never stopped. Shared because it is the slowest part. */
function referenceRun(): Promise<Run> {
  uninterrupted6 ??= runTrainer(['--epochs', '6', '--seed', '5']);
  return uninterrupted6;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tunehive-digits-'));
  tempDirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('examples/digits/train.ts', () => {
  it('prints exactly one epoch=N loss=L accuracy=A line per epoch, numbered from 1', { timeout: TIMEOUT }, async () => {
    const run = await runTrainer(['--epochs', '3', '--hidden', '16', '--seed', '2']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Without a checkpoint folder nothing but metric lines may appear, so any parser sees only epochs.
    expect(run.lines).toHaveLength(3);
    const epochs = epochLines(run);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const e of epochs) {
      expect(e.accuracy).toBeGreaterThanOrEqual(0);
      expect(e.accuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(e.loss)).toBe(true);
      expect(e.loss).toBeGreaterThan(0);
    }
  });

  it('writes the trained weights and a confusion-matrix CSV into TUNEHIVE_ARTIFACT_DIR and announces both', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    const run = await runTrainer(['--epochs', '2', '--hidden', '16', '--seed', '3'], { env: { TUNEHIVE_ARTIFACT_DIR: dir } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines.slice(-2)).toEqual(['tunehive.artifact=model/model.json', 'tunehive.artifact=confusion.csv']);
    const weights = JSON.parse(readFileSync(join(dir, 'model', 'model.json'), 'utf8'));
    expect([weights.format, weights.epoch, weights.hidden]).toEqual(['tunehive-digits-mlp', 2, 16]);
    const rows = readFileSync(join(dir, 'confusion.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['true\\predicted', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // The diagonal over the whole matrix is the accuracy the last epoch line printed.
    const counts = rows.slice(1).map((r) => r.slice(1).map(Number));
    const total = counts.flat().reduce((a, b) => a + b, 0);
    const correct = counts.reduce((a, r, i) => a + r[i]!, 0);
    expect((correct / total).toFixed(4)).toBe(epochLines(run).at(-1)!.accuracy.toFixed(4));
    expect(readdirSync(dir).sort()).toEqual(['confusion.csv', 'model']);
  });

  it('reaches more than 0.9 validation accuracy with good hyperparameters', { timeout: TIMEOUT }, async () => {
    const run = await runTrainer(['--lr', '0.05', '--hidden', '64', '--epochs', '10', '--batch-size', '32', '--l2', '1e-4', '--seed', '1']);
    expect(run.code).toBe(0);
    const epochs = epochLines(run);
    expect(epochs).toHaveLength(10);
    expect(epochs.at(-1)!.accuracy).toBeGreaterThan(0.9);
    // Training loss should fall substantially; a flat loss would mean the gradients are wrong.
    expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss / 2);
  });

  it('resumes from its checkpoint under a larger budget exactly as an uninterrupted run', { timeout: TIMEOUT }, async () => {
    const referencePromise = referenceRun(); // runs alongside the interrupted pair
    const dir = tempDir();
    const args = ['--epochs', '20', '--seed', '5']; // the budget, not --epochs, decides where each run stops
    const first = await runTrainer(args, {
      env: { TUNEHIVE_CHECKPOINT_DIR: dir, TUNEHIVE_BUDGET: '3', TUNEHIVE_CHECKPOINT_NOTIFY: '1' },
    });
    expect(first.code).toBe(0);
    expect(first.lines.filter((l) => !EPOCH_LINE.test(l))).toEqual(['tunehive.checkpoint=1', 'tunehive.checkpoint=2', 'tunehive.checkpoint=3']);
    expect(epochLines(first).map((e) => e.epoch)).toEqual([1, 2, 3]);
    // Each notification follows the save, so the file is complete when the line is seen; no temp file lingers.
    expect(readdirSync(dir)).toEqual(['model.json']);

    const resumed = await runTrainer(args, { env: { TUNEHIVE_CHECKPOINT_DIR: dir, TUNEHIVE_BUDGET: '6', TUNEHIVE_RESUME: '1' } });
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.lines[0]).toBe('resumed_from=3');
    expect(epochLines(resumed).map((e) => e.epoch)).toEqual([4, 5, 6]);

    const reference = epochLines(await referencePromise);
    expect(reference.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    // Whole lines, loss included: weights, momentum and shuffling RNG must all have been restored.
    expect(epochLines(first).map((e) => e.text)).toEqual(reference.slice(0, 3).map((e) => e.text));
    expect(epochLines(resumed).map((e) => e.text)).toEqual(reference.slice(3).map((e) => e.text));
    expect(epochLines(resumed).at(-1)!.accuracy).toBe(reference.at(-1)!.accuracy);
  });

  it('survives SIGKILL between epochs and resumes from the last complete checkpoint', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    const env = { TUNEHIVE_CHECKPOINT_DIR: dir, TUNEHIVE_CHECKPOINT_NOTIFY: '1', TUNEHIVE_EPOCH_DELAY_MS: '600' };
    const killed = await runTrainer(['--epochs', '6', '--seed', '5'], { env, killWhen: (l) => l === 'tunehive.checkpoint=2' });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(dir, 'model.json'))).toBe(true);

    const resumed = await runTrainer(['--epochs', '6', '--seed', '5'], { env: { TUNEHIVE_CHECKPOINT_DIR: dir, TUNEHIVE_RESUME: '1' } });
    expect(resumed.code).toBe(0);
    // The kill lands in the delay after epoch 2, but a slow machine may have got further; any
    // later checkpoint is equally valid as long as the numbering and the numbers continue.
    const from = Number(/^resumed_from=(\d+)$/.exec(resumed.lines[0] ?? '')?.[1]);
    expect(from).toBeGreaterThanOrEqual(2);
    expect(from).toBeLessThan(6);
    const reference = epochLines(await referenceRun());
    expect(epochLines(resumed).map((e) => e.text)).toEqual(reference.slice(from).map((e) => e.text));
  });

  it('rejects bad arguments and environment with exit code 2 and a message on stderr', { timeout: TIMEOUT }, async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--lr', '-0.5'], {}, /--lr must be greater than 0/],
      [['--epochs', '2.5'], {}, /--epochs must be an integer/],
      [['--learning-rate', '0.1'], {}, /unknown argument "--learning-rate"/],
      [['--epochs', '3'], { TUNEHIVE_BUDGET: 'ten' }, /TUNEHIVE_BUDGET must be an integer/],
    ];
    // Concurrent: each run is only process start-up, and serially they would dominate the suite.
    const runs = await Promise.all(cases.map(([args, env]) => runTrainer(args, { env })));
    runs.forEach((run, i) => {
      const [args, env, message] = cases[i]!;
      const what = `${JSON.stringify(args)} ${JSON.stringify(env)}`;
      expect(run.code, what).toBe(2);
      expect(run.stderr, what).toMatch(message);
      expect(run.stdout, what).toBe('');
    });
  });
});
