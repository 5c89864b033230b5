/**
 * The trial program's behaviour, separate from process wiring so it can be called with any argv,
 * environment and output sink.
 *
 * Order within an epoch: train, evaluate, print the metric line, save the checkpoint, then (if
 * asked) print `tunehive.checkpoint=<epoch>`. A kill between the metric line and the save means
 * the resumed run retrains and reprints that epoch with identical numbers, which is harmless;
 * saving first would instead risk a checkpointed epoch whose metric was never reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { USAGE, UsageError, parseArgs, readTrialEnv, type TrainOptions, type TrialEnv } from './args.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint, type Checkpoint } from './checkpoint.js';
import { loadDigits, splitDigits } from './data.js';
import { Mlp } from './mlp.js';
import { Rng } from './rng.js';
import { writeArtifacts } from './artifacts.js';

export interface TrialIo {
  /** Writes one line to stdout and resolves once it has been handed to the OS. */
  out(line: string): Promise<void>;
  err(line: string): void;
}

export function formatEpochLine(epoch: number, loss: number, accuracy: number): string {
  return `epoch=${epoch} loss=${loss.toFixed(4)} accuracy=${accuracy.toFixed(4)}`;
}

/** Runs the trial; resolves to the process exit code (0 ok, 1 failure, 2 bad arguments or environment). */
export async function runTrial(argv: readonly string[], env: NodeJS.ProcessEnv, io: TrialIo): Promise<number> {
  let opts: TrainOptions;
  let trialEnv: TrialEnv;
  try {
    const parsed = parseArgs(argv);
    if (parsed === 'help') {
      await io.out(USAGE);
      return 0;
    }
    opts = parsed;
    trialEnv = readTrialEnv(env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`train.ts: ${e.message}`);
      io.err(USAGE);
      return 2;
    }
    throw e;
  }

  const { train, validation } = splitDigits(loadDigits());
  const dir = trialEnv.checkpointDir;
  let model: Mlp | undefined;
  let rng: Rng | undefined;
  let done = 0;

  if (trialEnv.resume) {
    if (dir === undefined) {
      io.err('train.ts: TUNEHIVE_RESUME is set but TUNEHIVE_CHECKPOINT_DIR is not; starting from scratch');
    } else {
      let cp: Checkpoint | null;
      try {
        cp = loadCheckpoint(dir);
      } catch (e) {
        if (e instanceof CheckpointError) {
          io.err(`train.ts: ${e.message}`);
          return 1;
        }
        throw e;
      }
      if (cp !== null) {
        // Only the shape must match: other settings may change on resume on purpose (e.g. a
        // population-based search continuing a checkpoint with a perturbed learning rate).
        if (cp.model.hidden !== opts.hidden) {
          io.err(`train.ts: the checkpoint in ${dir} has hidden=${cp.model.hidden} but --hidden is ${opts.hidden}`);
          return 2;
        }
        model = cp.model;
        rng = cp.rng;
        done = cp.epoch;
        await io.out(`resumed_from=${done}`);
      }
    }
  }
  if (model === undefined || rng === undefined) {
    rng = Rng.fromSeed(opts.seed);
    model = Mlp.create(opts.hidden, rng);
  }

  const total = trialEnv.budget ?? opts.epochs;
  if (done >= total) {
    io.err(`train.ts: ${done} epochs already completed, budget is ${total}; nothing to do`);
    return 0;
  }
  const hyperparameters = { lr: opts.lr, momentum: opts.momentum, l2: opts.l2, batchSize: opts.batchSize, seed: opts.seed };
  for (let epoch = done + 1; epoch <= total; epoch++) {
    const loss = model.trainEpoch(train, opts, rng);
    const { accuracy } = model.evaluate(validation);
    await io.out(formatEpochLine(epoch, loss, accuracy));
    if (dir !== undefined) {
      saveCheckpoint(dir, { epoch, model, rng, hyperparameters });
      if (trialEnv.notifyCheckpoint) await io.out(`tunehive.checkpoint=${epoch}`);
    }
    // No pause after the last epoch: the delay exists to widen the window between epochs for
    // kill/resume tests, and a finished trial has nothing left to interrupt.
    if (trialEnv.epochDelayMs > 0 && epoch < total) await sleep(trialEnv.epochDelayMs);
  }
  if (trialEnv.artifactDir !== undefined) {
    // Announced at once: the worker uploads them now, not only at exit.
    for (const p of writeArtifacts(trialEnv.artifactDir, { epoch: total, model, rng, hyperparameters }, validation)) await io.out(`tunehive.artifact=${p}`);
  }
  return 0;
}
