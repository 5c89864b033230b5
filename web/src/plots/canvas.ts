/** Canvas helpers shared by the hand-drawn plots: a HiDPI-sized 2D context, scales, colours. */
export function setup(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '11px system-ui, sans-serif';
  return ctx;
}

export interface Axis { min: number; max: number; log: boolean; categories?: string[] }

/** An axis over the values of one parameter: numeric (log when all > 0 and spanning 2+ decades) or categorical. */
export function axisOf(values: Array<string | number | boolean | null | undefined>): Axis {
  const nums: number[] = [];
  const cats = new Set<string>();
  for (const v of values) {
    if (typeof v === 'number' && Number.isFinite(v)) nums.push(v);
    else if (v !== null && v !== undefined) cats.add(String(v));
  }
  if (cats.size > 0) return { min: 0, max: Math.max(1, cats.size - 1), log: false, categories: [...cats].sort() };
  let min = Infinity, max = -Infinity;
  for (const n of nums) { if (n < min) min = n; if (n > max) max = n; }
  if (!Number.isFinite(min)) { min = 0; max = 1; }
  if (min === max) { min -= 0.5; max += 0.5; }
  const log = min > 0 && max / min >= 100;
  return { min, max, log };
}

/** 0..1 position of a value on an axis (NaN when it has none). */
export function unit(a: Axis, v: string | number | boolean | null | undefined): number {
  if (v === null || v === undefined) return NaN;
  if (a.categories) { const i = a.categories.indexOf(String(v)); return a.categories.length <= 1 ? 0.5 : i / (a.categories.length - 1); }
  if (typeof v !== 'number') return NaN;
  if (a.log) return (Math.log(v) - Math.log(a.min)) / (Math.log(a.max) - Math.log(a.min));
  return (v - a.min) / (a.max - a.min);
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '';
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}

/** Viridis-like ramp: t in 0..1 to a colour (good value = bright). */
export function ramp(t: number): string {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i]!.map((s, k) => Math.round(s + (stops[i + 1]![k]! - s) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export const STATE_COLOURS: Record<string, string> = {
  COMPLETED: '#2b7bb9', PRUNED: '#e08a00', FAILED: '#c62828', RUNNING: '#2e7d32', PAUSED: '#8e24aa', QUEUED: '#9e9e9e', CANCELLED: '#757575',
};
