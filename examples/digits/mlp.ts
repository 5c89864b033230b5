/**
 * A one-hidden-layer perceptron (ReLU, softmax cross-entropy) trained by mini-batch SGD with
 * momentum and L2 weight decay. Plain loops over Float64Array: at this size (64-H-10) the loops
 * are faster than any matrix library's call overhead, and every operation runs in a fixed order,
 * so a run is bit-for-bit reproducible from its seed or its checkpoint.
 */
import { CLASSES, FEATURES, type Dataset } from './data.js';
import type { Rng } from './rng.js';

export interface OptimiserSettings {
  lr: number;
  momentum: number;
  l2: number;
  batchSize: number;
}

/** Everything that changes during training, besides the RNG. The names are the checkpoint's keys. */
export interface MlpState {
  // w1 is input-major so both passes can skip blank pixels while walking contiguous memory.
  w1: Float64Array; // FEATURES x hidden, row-major
  b1: Float64Array; // hidden
  w2: Float64Array; // CLASSES x hidden, row-major
  b2: Float64Array; // CLASSES
  vw1: Float64Array; // momentum buffers, same shapes
  vb1: Float64Array;
  vw2: Float64Array;
  vb2: Float64Array;
}

export const STATE_KEYS = ['w1', 'b1', 'w2', 'b2', 'vw1', 'vb1', 'vw2', 'vb2'] as const;

export function stateShapes(hidden: number): Record<keyof MlpState, number> {
  return {
    w1: hidden * FEATURES, b1: hidden, w2: CLASSES * hidden, b2: CLASSES,
    vw1: hidden * FEATURES, vb1: hidden, vw2: CLASSES * hidden, vb2: CLASSES,
  };
}

export class Mlp {
  readonly hidden: number;
  readonly state: MlpState;
  // Scratch space, allocated once: allocating per sample would dominate the run time.
  private readonly h: Float64Array;
  private readonly z: Float64Array;
  private readonly dz: Float64Array;
  private readonly dh: Float64Array;
  private readonly gw1: Float64Array;
  private readonly gb1: Float64Array;
  private readonly gw2: Float64Array;
  private readonly gb2: Float64Array;
  /** log(sum(exp(z))) of the last forward pass, which the backward pass turns into the softmax. */
  private lse = 0;

  constructor(hidden: number, state: MlpState) {
    const shapes = stateShapes(hidden);
    for (const k of STATE_KEYS) {
      if (state[k].length !== shapes[k]) throw new Error(`${k} has ${state[k].length} values, expected ${shapes[k]} for hidden=${hidden}`);
    }
    this.hidden = hidden;
    this.state = state;
    this.h = new Float64Array(hidden);
    this.z = new Float64Array(CLASSES);
    this.dz = new Float64Array(CLASSES);
    this.dh = new Float64Array(hidden);
    this.gw1 = new Float64Array(hidden * FEATURES);
    this.gb1 = new Float64Array(hidden);
    this.gw2 = new Float64Array(CLASSES * hidden);
    this.gb2 = new Float64Array(CLASSES);
  }

  /** He initialisation for the ReLU layer, 1/fan-in for the softmax layer; biases and momentum start at zero. */
  static create(hidden: number, rng: Rng): Mlp {
    const shapes = stateShapes(hidden);
    const state = {} as MlpState;
    for (const k of STATE_KEYS) state[k] = new Float64Array(shapes[k]);
    const s1 = Math.sqrt(2 / FEATURES);
    for (let i = 0; i < state.w1.length; i++) state.w1[i] = rng.normal() * s1;
    const s2 = Math.sqrt(1 / hidden);
    for (let i = 0; i < state.w2.length; i++) state.w2[i] = rng.normal() * s2;
    return new Mlp(hidden, state);
  }

  /** Fills this.h, this.z and this.lse for row `r` of `x`; returns the row's cross-entropy for label `label`. */
  private forward(x: Float64Array, r: number, label: number): number {
    const H = this.hidden;
    const { w1, b1, w2, b2 } = this.state;
    const h = this.h;
    const z = this.z;
    const xo = r * FEATURES;
    h.set(b1);
    for (let f = 0; f < FEATURES; f++) {
      const xf = x[xo + f]!;
      if (xf === 0) continue; // about half the pixels are blank
      const wo = f * H;
      for (let j = 0; j < H; j++) h[j] = h[j]! + w1[wo + j]! * xf;
    }
    for (let j = 0; j < H; j++) if (!(h[j]! > 0)) h[j] = 0;
    let max = -Infinity;
    for (let k = 0; k < CLASSES; k++) {
      let s = b2[k]!;
      const wo = k * H;
      for (let j = 0; j < H; j++) s += w2[wo + j]! * h[j]!;
      z[k] = s;
      if (s > max) max = s;
    }
    // Log-sum-exp with the max subtracted: exact cross-entropy without overflow in exp.
    let sum = 0;
    for (let k = 0; k < CLASSES; k++) sum += Math.exp(z[k]! - max);
    const lse = max + Math.log(sum);
    this.lse = lse;
    return lse - z[label]!;
  }

  /**
   * One pass over `data` in an order drawn from `rng`. Returns the mean training cross-entropy
   * over the epoch's samples, measured as they were trained on (the usual running-loss convention;
   * the L2 penalty is not included, so the number stays comparable across --l2 values).
   */
  trainEpoch(data: Dataset, opt: OptimiserSettings, rng: Rng): number {
    // The order restarts from the identity each epoch, so the RNG is the only state carried over.
    const order = new Uint32Array(data.rows);
    for (let i = 0; i < order.length; i++) order[i] = i;
    rng.shuffle(order);

    const H = this.hidden;
    const { w2 } = this.state;
    const { h, z, dz, dh, gw1, gb1, gw2, gb2 } = this;
    const x = data.x;
    let totalLoss = 0;
    for (let start = 0; start < data.rows; start += opt.batchSize) {
      const end = Math.min(start + opt.batchSize, data.rows);
      for (let i = start; i < end; i++) {
        const r = order[i]!;
        const label = data.y[r]!;
        totalLoss += this.forward(x, r, label);
        const lse = this.lse;
        for (let k = 0; k < CLASSES; k++) {
          // d(cross-entropy)/dz = softmax(z) - onehot(label)
          const d = Math.exp(z[k]! - lse) - (k === label ? 1 : 0);
          dz[k] = d;
          gb2[k] = gb2[k]! + d;
          const wo = k * H;
          for (let j = 0; j < H; j++) gw2[wo + j] = gw2[wo + j]! + d * h[j]!;
        }
        dh.fill(0);
        for (let k = 0; k < CLASSES; k++) {
          const d = dz[k]!;
          const wo = k * H;
          for (let j = 0; j < H; j++) dh[j] = dh[j]! + d * w2[wo + j]!;
        }
        for (let j = 0; j < H; j++) if (!(h[j]! > 0)) dh[j] = 0; // ReLU gate
        for (let j = 0; j < H; j++) gb1[j] = gb1[j]! + dh[j]!;
        const xo = r * FEATURES;
        for (let f = 0; f < FEATURES; f++) {
          const xf = x[xo + f]!;
          if (xf === 0) continue;
          const go = f * H;
          for (let j = 0; j < H; j++) gw1[go + j] = gw1[go + j]! + xf * dh[j]!;
        }
      }
      this.step(opt, end - start);
    }
    return totalLoss / data.rows;
  }

  /** Momentum SGD in the PyTorch form: v = mu*v + g; w -= lr*v, with L2 on weights but not biases. */
  private step(opt: OptimiserSettings, batch: number): void {
    const s = this.state;
    const inv = 1 / batch;
    update(s.w1, s.vw1, this.gw1, inv, opt.l2, opt);
    update(s.b1, s.vb1, this.gb1, inv, 0, opt);
    update(s.w2, s.vw2, this.gw2, inv, opt.l2, opt);
    update(s.b2, s.vb2, this.gb2, inv, 0, opt);
  }

  /** The predicted class of each row of `data` (for the confusion matrix artifact). */
  predict(data: Dataset): Uint8Array {
    const out = new Uint8Array(data.rows);
    const z = this.z;
    for (let r = 0; r < data.rows; r++) {
      this.forward(data.x, r, data.y[r]!);
      let best = 0;
      for (let k = 1; k < CLASSES; k++) if (z[k]! > z[best]!) best = k;
      out[r] = best;
    }
    return out;
  }

  evaluate(data: Dataset): { accuracy: number; loss: number } {
    let correct = 0;
    let loss = 0;
    const z = this.z;
    for (let r = 0; r < data.rows; r++) {
      const label = data.y[r]!;
      loss += this.forward(data.x, r, label);
      let best = 0;
      for (let k = 1; k < CLASSES; k++) if (z[k]! > z[best]!) best = k;
      if (best === label) correct++;
    }
    return { accuracy: data.rows === 0 ? 0 : correct / data.rows, loss: data.rows === 0 ? 0 : loss / data.rows };
  }
}

function update(w: Float64Array, v: Float64Array, g: Float64Array, inv: number, l2: number, opt: OptimiserSettings): void {
  const { lr, momentum } = opt;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    const vi = momentum * v[i]! + g[i]! * inv + l2 * wi;
    v[i] = vi;
    w[i] = wi - lr * vi;
    g[i] = 0;
  }
}
