/**
 * Parallel coordinates on one canvas: an axis per parameter plus the objective, one polyline per
 * trial (thousands draw in a few ms). Dragging along an axis brushes a range; the brushes are
 * handed to onBrush, which filters the table. Drawn again on every change; no DOM per trial.
 */
import { axisOf, fmt, ramp, setup, unit, type Axis } from './canvas.js';
import type { Trial } from '../study-data.js';

export type Brushes = Record<string, [number, number]>;
const PAD = { top: 36, bottom: 28, left: 30, right: 30 };

export interface ParcoordsOptions { width: number; height: number; params: string[]; minimize: boolean; onBrush(b: Brushes): void }

export class ParallelCoordinates {
  private trials: Trial[] = [];
  private axes: Axis[] = [];
  private dims: string[] = [];
  brushes: Brushes = {};
  private drag: { dim: string; y0: number; moved: boolean } | undefined;

  constructor(readonly canvas: HTMLCanvasElement, private o: ParcoordsOptions) {
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', () => this.up());
    canvas.addEventListener('dblclick', () => { this.brushes = {}; this.draw(); this.o.onBrush(this.brushes); });
  }

  setData(trials: Trial[], params: string[]): void {
    this.trials = trials.filter((t) => t.state === 'COMPLETED' && t.value !== null);
    this.dims = [...params, 'value'];
    this.axes = this.dims.map((d) => axisOf(this.trials.map((t) => (d === 'value' ? t.value : t.params[d]))));
    this.draw();
  }

  private x(i: number): number { return PAD.left + (i * (this.o.width - PAD.left - PAD.right)) / Math.max(1, this.dims.length - 1); }
  private y(u: number): number { return PAD.top + (1 - u) * (this.o.height - PAD.top - PAD.bottom); }
  private uOfY(y: number): number { return 1 - (y - PAD.top) / (this.o.height - PAD.top - PAD.bottom); }

  /** Whether a trial passes every brush (brush ranges are in 0..1 axis units). */
  passes(t: Trial): boolean {
    for (const [dim, [lo, hi]] of Object.entries(this.brushes)) {
      const i = this.dims.indexOf(dim);
      if (i < 0) continue;
      const u = unit(this.axes[i]!, dim === 'value' ? t.value : t.params[dim]);
      if (!(u >= lo && u <= hi)) return false;
    }
    return true;
  }

  draw(): void {
    const { width, height } = this.o;
    const ctx = setup(this.canvas, width, height);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, height);
    const vAxis = this.axes[this.dims.length - 1];
    const brushed = Object.keys(this.brushes).length > 0;
    // Unselected first (grey), then the selection coloured by value, so the selection stays on top.
    for (const pass of brushed ? [false, true] : [true]) {
      ctx.globalAlpha = this.trials.length > 2000 ? 0.15 : 0.5;
      for (const t of this.trials) {
        const inside = !brushed || this.passes(t);
        if (inside !== pass) continue;
        const uv = vAxis ? unit(vAxis, t.value) : 0.5;
        ctx.strokeStyle = inside ? ramp(this.o.minimize ? 1 - uv : uv) : '#ccc';
        ctx.beginPath();
        let moved = false;
        this.dims.forEach((d, i) => {
          const u = unit(this.axes[i]!, d === 'value' ? t.value : t.params[d]);
          if (Number.isNaN(u)) { moved = false; return; }
          if (moved) ctx.lineTo(this.x(i), this.y(u)); else { ctx.moveTo(this.x(i), this.y(u)); moved = true; }
        });
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;
    this.dims.forEach((d, i) => {
      const x = this.x(i), a = this.axes[i]!;
      ctx.strokeStyle = '#333';
      ctx.beginPath(); ctx.moveTo(x, this.y(0)); ctx.lineTo(x, this.y(1)); ctx.stroke();
      ctx.fillStyle = '#222';
      ctx.textAlign = 'center';
      ctx.fillText(d, x, 12);
      const lo = a.categories ? a.categories[0] ?? '' : fmt(a.min), hi = a.categories ? a.categories.at(-1) ?? '' : fmt(a.max);
      ctx.fillText(hi, x, this.y(1) - 4);
      ctx.fillText(lo, x, this.y(0) + 14);
      const b = this.brushes[d];
      if (b) {
        ctx.fillStyle = 'rgba(30,100,200,0.25)';
        ctx.fillRect(x - 7, this.y(b[1]), 14, this.y(b[0]) - this.y(b[1]));
      }
    });
  }

  private dimAt(x: number): string | undefined {
    let best: string | undefined, dist = 20;
    this.dims.forEach((d, i) => { const dd = Math.abs(this.x(i) - x); if (dd < dist) { dist = dd; best = d; } });
    return best;
  }

  private pos(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  private down(e: PointerEvent): void {
    const p = this.pos(e);
    const dim = this.dimAt(p.x);
    if (!dim) return;
    this.canvas.setPointerCapture?.(e.pointerId);
    this.drag = { dim, y0: p.y, moved: false };
  }

  private move(e: PointerEvent): void {
    if (!this.drag) return;
    const p = this.pos(e);
    const a = Math.max(0, Math.min(1, this.uOfY(this.drag.y0))), b = Math.max(0, Math.min(1, this.uOfY(p.y)));
    if (Math.abs(a - b) < 0.01) return;
    this.drag.moved = true;
    // A brush dragged to within a few pixels of an axis end takes the end in (the best trial sits there).
    const snap = (u: number) => (u > 0.98 ? 1 : u < 0.02 ? 0 : u);
    this.brushes = { ...this.brushes, [this.drag.dim]: [snap(Math.min(a, b)), snap(Math.max(a, b))] };
    this.draw();
  }

  private up(): void {
    if (!this.drag) return;
    const dim = this.drag.dim;
    // A click without a drag clears that axis's brush.
    if (!this.drag.moved && this.brushes[dim]) { const { [dim]: _, ...rest } = this.brushes; this.brushes = rest; this.draw(); }
    this.drag = undefined;
    this.o.onBrush(this.brushes);
  }
}
