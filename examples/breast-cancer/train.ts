/**
 * Tunehive example trial program: logistic regression on the breast-cancer set.
 *   node --import tsx examples/breast-cancer/train.ts --lr 0.1 --l2 1e-3 --epochs 200 [--seed 1] [--report-every 20]
 *
 * stdout: `epoch=N loss=L f1=F auc=A` every --report-every epochs and after the last (F1 and
 * ROC AUC on the held-out rows). At the end the model goes to TUNEHIVE_ARTIFACT_DIR/model/:
 * model.json (weights, bias and the standardisation it was trained with) and MLmodel (what the
 * files are); the worker uploads them to the trial's run.
 * BREAST_CANCER_KEEP_DIR: also keep a copy of model.json there as <TUNEHIVE_TRIAL_ID>.json (the
 * end-to-end test compares what the registry serves with exactly what the program wrote).
 * Exit codes: 0 done, 2 bad argument.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FEATURES, loadBreastCancer, rng, split } from './data.js';
import { auc, f1, predictProba, step, type LogReg } from './model.js';

function number(v: string | undefined, name: string, min: number, max: number, fallback: number): number {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(`train.ts: --${name} must be a number from ${min} to ${max} (got ${v})\n`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({ options: { lr: { type: 'string' }, l2: { type: 'string' }, epochs: { type: 'string' }, seed: { type: 'string' }, 'report-every': { type: 'string' } }, strict: true });
const lr = number(values.lr, 'lr', 1e-6, 100, 0.1);
const l2 = number(values.l2, 'l2', 0, 10, 1e-3);
const epochs = Math.round(number(values.epochs, 'epochs', 1, 100_000, 200));
const seed = Math.round(number(values.seed ?? process.env.TUNEHIVE_SEED, 'seed', 0, 2 ** 32 - 1, 1));
const every = Math.round(number(values['report-every'], 'report-every', 1, 100_000, 20));

const data = split(loadBreastCancer());
const next = rng(seed);
const model: LogReg = { w: Array.from({ length: FEATURES }, () => (next() - 0.5) * 0.02), b: 0 };
const out = (line: string) => new Promise<void>((resolve, reject) => process.stdout.write(`${line}\n`, (e) => (e ? reject(e) : resolve())));
let scores = { f1: 0, auc: 0 };
for (let epoch = 1; epoch <= epochs; epoch++) {
  const loss = step(model, data.train, lr, l2);
  if (epoch % every === 0 || epoch === epochs) {
    const p = predictProba(model, data.test);
    scores = { f1: f1(p, data.test.y), auc: auc(p, data.test.y) };
    await out(`epoch=${epoch} loss=${loss.toFixed(6)} f1=${scores.f1} auc=${scores.auc}`);
  }
}

const dir = process.env.TUNEHIVE_ARTIFACT_DIR;
if (dir) {
  const modelDir = join(dir, 'model');
  mkdirSync(modelDir, { recursive: true });
  const write = (name: string, text: string) => {
    // Whole, then renamed: the worker never uploads half a file.
    writeFileSync(join(modelDir, `${name}.tmp`), text);
    renameSync(join(modelDir, `${name}.tmp`), join(modelDir, name));
  };
  write('model.json', `${JSON.stringify({ kind: 'logistic-regression', features: FEATURES, weights: model.w, bias: model.b, mean: data.mean, std: data.std, positive: 'benign', params: { lr, l2, epochs, seed }, scores })}\n`);
  const keep = process.env.BREAST_CANCER_KEEP_DIR;
  if (keep) writeFileSync(join(keep, `${process.env.TUNEHIVE_TRIAL_ID ?? 'model'}.json`), readFileSync(join(modelDir, 'model.json')));
  write('MLmodel', `flavors:\n  tunehive_logreg:\n    data: model.json\n    features: ${FEATURES}\nmetrics:\n  f1: ${scores.f1}\n  auc: ${scores.auc}\n`);
}
