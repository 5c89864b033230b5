/**
 * What a finished trial leaves on its run: the trained weights (the checkpoint format, so
 * `tunehive download RUN model/model.json` gives a loadable model) and the validation set's
 * confusion matrix as CSV (rows: true digit, columns: predicted digit).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveCheckpoint, type Checkpoint } from './checkpoint.js';
import { CLASSES, type Dataset } from './data.js';
import type { Mlp } from './mlp.js';

export const WEIGHTS_ARTIFACT = 'model/model.json';
export const CONFUSION_ARTIFACT = 'confusion.csv';

export function confusionMatrix(model: Mlp, data: Dataset): number[][] {
  const m = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  const predicted = model.predict(data);
  for (let r = 0; r < data.rows; r++) m[data.y[r]!]![predicted[r]!]!++;
  return m;
}

export function confusionCsv(m: number[][]): string {
  const header = ['true\\predicted', ...m.map((_, k) => String(k))].join(',');
  return `${[header, ...m.map((row, k) => [String(k), ...row.map(String)].join(','))].join('\n')}\n`;
}

/** Writes both artifacts into `dir`; returns their paths relative to it. */
export function writeArtifacts(dir: string, cp: Checkpoint, validation: Dataset): string[] {
  saveCheckpoint(join(dir, 'model'), cp);
  mkdirSync(dir, { recursive: true });
  // Written whole, then renamed: the worker never uploads half a file.
  const tmp = join(dir, `${CONFUSION_ARTIFACT}.tmp`);
  writeFileSync(tmp, confusionCsv(confusionMatrix(cp.model, validation)));
  renameSync(tmp, join(dir, CONFUSION_ARTIFACT));
  return [WEIGHTS_ARTIFACT, CONFUSION_ARTIFACT];
}
