/**
 * The canvas plots drawn from the table rows or a small server answer: parameter importance
 * (bars), slice (objective against one parameter, a scatter per parameter) and contour (the
 * objective over two parameters, binned into a grid and coloured; empty cells left blank).
 */
import { axisOf, fmt, ramp, setup, unit, STATE_COLOURS } from './canvas.js';
import type { Trial } from '../study-data.js';

export function drawImportance(canvas: HTMLCanvasElement, items: Array<{ param: string; importance: number }>, width: number): void {
  const rowH = 22, left = 110, h = Math.max(40, items.length * rowH + 10);
  const ctx = setup(canvas, width, h);
  const max = Math.max(1e-12, ...items.map((i) => i.importance));
  items.forEach((it, k) => {
    const y = 5 + k * rowH;
    ctx.fillStyle = '#222';
    ctx.textAlign = 'right';
    ctx.fillText(it.param, left - 6, y + 14);
    ctx.fillStyle = '#2b7bb9';
    const w = ((width - left - 60) * it.importance) / max;
    ctx.fillRect(left, y + 3, Math.max(1, w), rowH - 6);
    ctx.fillStyle = '#222';
    ctx.textAlign = 'left';
    ctx.fillText(fmt(it.importance), left + w + 4, y + 14);
  });
}

function frame(ctx: CanvasRenderingContext2D, x0: number, y0: number, w: number, h: number): void {
  ctx.strokeStyle = '#999';
  ctx.strokeRect(x0 + 0.5, y0 + 0.5, w, h);
}

/** One small scatter per parameter: x = the parameter, y = the objective. */
export function drawSlice(canvas: HTMLCanvasElement, trials: Trial[], params: string[], width: number): void {
  const done = trials.filter((t) => t.state === 'COMPLETED' && t.value !== null);
  const cell = 220, cols = Math.max(1, Math.floor(width / cell)), rows = Math.ceil(params.length / cols);
  const ctx = setup(canvas, width, Math.max(1, rows) * cell);
  const yAxis = axisOf(done.map((t) => t.value));
  params.forEach((p, k) => {
    const x0 = (k % cols) * cell + 30, y0 = Math.floor(k / cols) * cell + 20, w = cell - 45, h = cell - 50;
    frame(ctx, x0, y0, w, h);
    ctx.fillStyle = '#222';
    ctx.textAlign = 'center';
    ctx.fillText(p, x0 + w / 2, y0 + h + 16);
    const xAxis = axisOf(done.map((t) => t.params[p]));
    ctx.fillStyle = STATE_COLOURS.COMPLETED!;
    ctx.globalAlpha = done.length > 3000 ? 0.3 : 0.7;
    for (const t of done) {
      const ux = unit(xAxis, t.params[p]), uy = unit(yAxis, t.value);
      if (Number.isNaN(ux) || Number.isNaN(uy)) continue;
      ctx.fillRect(x0 + ux * w - 1.5, y0 + (1 - uy) * h - 1.5, 3, 3);
    }
    ctx.globalAlpha = 1;
  });
}

/** The objective over two numeric parameters, averaged into a grid of cells. */
export function drawContour(canvas: HTMLCanvasElement, trials: Trial[], px: string, py: string, minimize: boolean, width: number, height: number): void {
  const done = trials.filter((t) => t.state === 'COMPLETED' && t.value !== null);
  const ctx = setup(canvas, width, height);
  const x0 = 50, y0 = 10, w = width - 70, h = height - 45, N = 24;
  const ax = axisOf(done.map((t) => t.params[px])), ay = axisOf(done.map((t) => t.params[py])), av = axisOf(done.map((t) => t.value));
  const sum = new Float64Array(N * N), cnt = new Uint32Array(N * N);
  for (const t of done) {
    const ux = unit(ax, t.params[px]), uy = unit(ay, t.params[py]);
    if (Number.isNaN(ux) || Number.isNaN(uy)) continue;
    const i = Math.min(N - 1, Math.floor(ux * N)), j = Math.min(N - 1, Math.floor(uy * N));
    sum[j * N + i]! += t.value!;
    cnt[j * N + i]!++;
  }
  for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) {
    const c = cnt[j * N + i]!;
    if (!c) continue;
    const u = unit(av, sum[j * N + i]! / c);
    ctx.fillStyle = ramp(minimize ? 1 - u : u);
    ctx.fillRect(x0 + (i * w) / N, y0 + h - ((j + 1) * h) / N, w / N + 0.5, h / N + 0.5);
  }
  ctx.fillStyle = '#000';
  for (const t of done) {
    const ux = unit(ax, t.params[px]), uy = unit(ay, t.params[py]);
    if (!Number.isNaN(ux) && !Number.isNaN(uy)) ctx.fillRect(x0 + ux * w - 1, y0 + (1 - uy) * h - 1, 2, 2);
  }
  frame(ctx, x0, y0, w, h);
  ctx.fillStyle = '#222';
  ctx.textAlign = 'center';
  ctx.fillText(px, x0 + w / 2, y0 + h + 28);
  ctx.fillText(ax.categories ? '' : fmt(ax.min), x0, y0 + h + 14);
  ctx.fillText(ax.categories ? '' : fmt(ax.max), x0 + w, y0 + h + 14);
  ctx.save();
  ctx.translate(14, y0 + h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(py, 0, 0);
  ctx.restore();
}
