/**
 * Checkpoints: one JSON file, `model.json`, holding everything a resumed run needs to continue
 * exactly as an uninterrupted run would (weights, momentum buffers, completed epochs, RNG state).
 *
 * Tensors are base64 of little-endian float64 rather than JSON number arrays: that is exact for
 * every double (JSON would turn NaN/Infinity of a diverged run into null and lose -0), and about
 * half the size.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Mlp, STATE_KEYS, stateShapes, type MlpState } from './mlp.js';
import { Rng, type RngState } from './rng.js';

export const CHECKPOINT_FILE = 'model.json';
export const CHECKPOINT_FORMAT = 'tunehive-digits-mlp';
export const CHECKPOINT_VERSION = 1;

/** Recorded for people reading the file; a resume takes its settings from the command line. */
export interface CheckpointHyperparameters {
  lr: number;
  momentum: number;
  l2: number;
  batchSize: number;
  seed: number;
}

export interface Checkpoint {
  /** Epochs completed; a resumed run starts with epoch + 1. */
  epoch: number;
  model: Mlp;
  rng: Rng;
  hyperparameters: CheckpointHyperparameters;
}

interface CheckpointFile {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  epoch: number;
  hidden: number;
  rng: RngState;
  hyperparameters: CheckpointHyperparameters;
  encoding: 'float64le-base64';
  tensors: Record<keyof MlpState, string>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/**
 * Writes `dir/model.json` atomically: a temp file in the same folder (so the rename never crosses
 * file systems), fsynced before the rename, so a kill or crash at any moment leaves either the
 * previous checkpoint or the new one, never a torn file.
 */
export function saveCheckpoint(dir: string, cp: Checkpoint): string {
  mkdirSync(dir, { recursive: true });
  const tensors = {} as Record<keyof MlpState, string>;
  for (const k of STATE_KEYS) tensors[k] = encodeF64(cp.model.state[k]);
  const file: CheckpointFile = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    epoch: cp.epoch,
    hidden: cp.model.hidden,
    rng: cp.rng.state(),
    hyperparameters: cp.hyperparameters,
    encoding: 'float64le-base64',
    tensors,
  };
  const target = join(dir, CHECKPOINT_FILE);
  // One fixed temp name: a run killed mid-write leaves at most one stale temp file, which the next save overwrites.
  const tmp = `${target}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(file));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  return target;
}

/** Reads `dir/model.json`; null when there is none. Throws CheckpointError when it is unusable. */
export function loadCheckpoint(dir: string): Checkpoint | null {
  const path = join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const bad = (why: string): CheckpointError => new CheckpointError(`checkpoint ${path}: ${why}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not valid JSON');
  }
  if (!isRecord(raw) || raw.format !== CHECKPOINT_FORMAT) throw bad(`not a ${CHECKPOINT_FORMAT} checkpoint`);
  if (raw.version !== CHECKPOINT_VERSION) throw bad(`version ${String(raw.version)} is not supported (expected ${CHECKPOINT_VERSION})`);
  if (raw.encoding !== 'float64le-base64') throw bad(`unknown tensor encoding ${String(raw.encoding)}`);
  const { epoch, hidden, rng, hyperparameters, tensors } = raw;
  if (!isNonNegativeInteger(epoch)) throw bad('epoch must be a non-negative integer');
  if (!isNonNegativeInteger(hidden) || hidden < 1) throw bad('hidden must be a positive integer');
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => isNonNegativeInteger(w) && w <= 0xffffffff)) {
    throw bad('rng must be four 32-bit unsigned integers');
  }
  if (!isRecord(tensors)) throw bad('tensors missing');
  if (!isRecord(hyperparameters)) throw bad('hyperparameters missing');
  const shapes = stateShapes(hidden);
  const state = {} as MlpState;
  for (const k of STATE_KEYS) {
    const t = tensors[k];
    if (typeof t !== 'string') throw bad(`tensor ${k} missing`);
    const a = decodeF64(t);
    if (a === null || a.length !== shapes[k]) throw bad(`tensor ${k} should hold ${shapes[k]} float64 values for hidden=${hidden}`);
    state[k] = a;
  }
  return {
    epoch,
    model: new Mlp(hidden, state),
    rng: Rng.fromState(rng as RngState),
    hyperparameters: hyperparameters as unknown as CheckpointHyperparameters,
  };
}

function encodeF64(a: Float64Array): string {
  // Explicit little-endian writes keep the file portable whatever the host's byte order.
  const buf = Buffer.allocUnsafe(a.length * 8);
  for (let i = 0; i < a.length; i++) buf.writeDoubleLE(a[i]!, i * 8);
  return buf.toString('base64');
}

function decodeF64(s: string): Float64Array | null {
  const buf = Buffer.from(s, 'base64');
  if (buf.length % 8 !== 0) return null;
  const a = new Float64Array(buf.length / 8);
  for (let i = 0; i < a.length; i++) a[i] = buf.readDoubleLE(i * 8);
  return a;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
