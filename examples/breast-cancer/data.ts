/**
 * The Wisconsin diagnostic breast-cancer set (569 rows, 30 features; target 0 malignant, 1
 * benign; the copy scikit-learn ships as `load_breast_cancer`), with a fixed stratified split.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export const FEATURES = 30;
export interface Dataset { x: Float64Array; y: Uint8Array; rows: number }

export const DEFAULT_DATA_PATH = new URL('./breast_cancer.csv.gz', import.meta.url);
/**
 * A constant, not the trial's seed: every trial of a study is scored on the same held-out rows,
 * or trials would differ by the luck of their split rather than by their hyperparameters.
 */
const SPLIT_SEED = 20261201;
const TEST_FRACTION = 0.25;

export function loadBreastCancer(path: string | URL = DEFAULT_DATA_PATH): Dataset {
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  // The first line is scikit-learn's header: "<rows>,<features>,<class names>".
  const [rowsText, featuresText] = lines[0]!.split(',');
  const rows = Number(rowsText);
  if (Number(featuresText) !== FEATURES || lines.length - 1 !== rows) throw new Error(`${String(path)}: expected ${FEATURES} features and ${rows} rows`);
  const x = new Float64Array(rows * FEATURES);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1]!.split(',').map(Number);
    if (cells.length !== FEATURES + 1 || cells.some((c) => !Number.isFinite(c))) throw new Error(`${String(path)}: row ${r + 2} is not ${FEATURES + 1} numbers`);
    x.set(cells.slice(0, FEATURES), r * FEATURES);
    y[r] = cells[FEATURES]!;
  }
  return { x, y, rows };
}

/** A small deterministic generator (mulberry32): the split and the initial weights. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function take(d: Dataset, idx: number[]): Dataset {
  const x = new Float64Array(idx.length * FEATURES);
  const y = new Uint8Array(idx.length);
  idx.forEach((r, i) => {
    x.set(d.x.subarray(r * FEATURES, (r + 1) * FEATURES), i * FEATURES);
    y[i] = d.y[r]!;
  });
  return { x, y, rows: idx.length };
}

/** Stratified train/test split, then both standardised with the training rows' mean and deviation. */
export function split(d: Dataset): { train: Dataset; test: Dataset; mean: number[]; std: number[] } {
  const next = rng(SPLIT_SEED);
  const train: number[] = [];
  const test: number[] = [];
  for (const cls of [0, 1]) {
    const rows = [...d.y.keys()].filter((r) => d.y[r] === cls);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    const cut = Math.round(rows.length * TEST_FRACTION);
    test.push(...rows.slice(0, cut));
    train.push(...rows.slice(cut));
  }
  const tr = take(d, train.sort((a, b) => a - b));
  const te = take(d, test.sort((a, b) => a - b));
  const mean = new Array<number>(FEATURES).fill(0);
  const std = new Array<number>(FEATURES).fill(0);
  for (let r = 0; r < tr.rows; r++) for (let f = 0; f < FEATURES; f++) mean[f]! += tr.x[r * FEATURES + f]! / tr.rows;
  for (let r = 0; r < tr.rows; r++) for (let f = 0; f < FEATURES; f++) std[f]! += (tr.x[r * FEATURES + f]! - mean[f]!) ** 2 / tr.rows;
  for (let f = 0; f < FEATURES; f++) std[f] = Math.sqrt(std[f]!) || 1;
  for (const s of [tr, te]) for (let r = 0; r < s.rows; r++) for (let f = 0; f < FEATURES; f++) s.x[r * FEATURES + f] = (s.x[r * FEATURES + f]! - mean[f]!) / std[f]!;
  return { train: tr, test: te, mean, std };
}
