/**
 * Tunehive demo trial program: an MLP on the UCI digits.
 *   node --import tsx examples/digits/train.ts --lr 0.05 --hidden 64 --epochs 20 --batch-size 32 --l2 1e-4 [--momentum 0.9] [--seed 1]
 *
 * stdout: `epoch=N loss=L accuracy=A` per epoch (training loss, validation accuracy).
 * TUNEHIVE_CHECKPOINT_DIR   save <dir>/model.json atomically after every epoch
 * TUNEHIVE_CHECKPOINT_NOTIFY=1  also print `tunehive.checkpoint=N` once epoch N is saved
 * TUNEHIVE_RESUME=1         continue from <dir>/model.json if present, printing `resumed_from=N`
 * TUNEHIVE_BUDGET=N         total epochs to have completed (overrides --epochs)
 * TUNEHIVE_EPOCH_DELAY_MS=M pause between epochs (to give fault-tolerance tests a window)
 * Exit codes: 0 done, 1 failure (e.g. unreadable checkpoint), 2 bad argument or environment value.
 */
import { runTrial } from './trial.js';

const io = {
  // Waiting for the write callback is the flush: the supervisor sees each epoch as it ends,
  // even if a later epoch is slow or the process is killed.
  out: (line: string) =>
    new Promise<void>((resolve, reject) => {
      process.stdout.write(`${line}\n`, (err) => (err ? reject(err) : resolve()));
    }),
  err: (line: string) => {
    process.stderr.write(`${line}\n`);
  },
};

try {
  // exitCode rather than process.exit(), so buffered stderr still drains.
  process.exitCode = await runTrial(process.argv.slice(2), process.env, io);
} catch (e) {
  process.stderr.write(`train.ts: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
