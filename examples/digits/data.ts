/** The UCI optical digits set (8x8 images, 64 features 0-16, label 0-9) and its fixed split. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Rng } from './rng.js';

export const FEATURES = 64;
export const CLASSES = 10;

/** Row-major feature matrix (rows x FEATURES), already scaled to [0, 1], with one label per row. */
export interface Dataset {
  x: Float64Array;
  y: Uint8Array;
  rows: number;
}

export interface Split {
  train: Dataset;
  validation: Dataset;
}

/**
 * The split seed is a constant, not the trial's --seed: every trial of a study must be scored on
 * the same validation rows, or trials would differ by the luck of their split rather than by
 * their hyperparameters.
 */
const SPLIT_SEED = 20240611;
const VALIDATION_FRACTION = 0.2;

export const DEFAULT_DATA_PATH = new URL('./digits.csv.gz', import.meta.url);

export function loadDigits(path: string | URL = DEFAULT_DATA_PATH): Dataset {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const rows = lines.length;
  const x = new Float64Array(rows * FEATURES);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells = lines[r]!.split(',');
    if (cells.length !== FEATURES + 1) {
      throw new Error(`${String(path)}: row ${r + 1} has ${cells.length} columns, expected ${FEATURES + 1}`);
    }
    for (let f = 0; f < FEATURES; f++) {
      const v = Number(cells[f]);
      if (!Number.isInteger(v) || v < 0 || v > 16) throw new Error(`${String(path)}: row ${r + 1} column ${f + 1} is not an integer 0-16`);
      // Pixel counts are 0-16; /16 puts them in [0, 1] so one learning rate suits every feature.
      x[r * FEATURES + f] = v / 16;
    }
    const label = Number(cells[FEATURES]);
    if (!Number.isInteger(label) || label < 0 || label >= CLASSES) throw new Error(`${String(path)}: row ${r + 1} label is not 0-9`);
    y[r] = label;
  }
  return { x, y, rows };
}

/** Stratified split: each class contributes the same fraction to validation, so no class is under-tested. */
export function splitDigits(data: Dataset): Split {
  const rng = Rng.fromSeed(SPLIT_SEED);
  const trainRows: number[] = [];
  const validationRows: number[] = [];
  for (let c = 0; c < CLASSES; c++) {
    const members: number[] = [];
    for (let r = 0; r < data.rows; r++) if (data.y[r] === c) members.push(r);
    rng.shuffle(members);
    const nValidation = Math.round(members.length * VALIDATION_FRACTION);
    validationRows.push(...members.slice(0, nValidation));
    trainRows.push(...members.slice(nValidation));
  }
  // Sorting keeps the subsets independent of the class loop order; training shuffles anyway.
  trainRows.sort((a, b) => a - b);
  validationRows.sort((a, b) => a - b);
  return { train: subset(data, trainRows), validation: subset(data, validationRows) };
}

function subset(data: Dataset, rows: number[]): Dataset {
  const x = new Float64Array(rows.length * FEATURES);
  const y = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    x.set(data.x.subarray(r * FEATURES, (r + 1) * FEATURES), i * FEATURES);
    y[i] = data.y[r]!;
  });
  return { x, y, rows: rows.length };
}
