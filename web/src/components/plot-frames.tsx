/** Preact wrappers around the imperative plots: each draws into its own canvas/div on data change. */
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import { curvesPlot, historyPlot, type Curve, type HistoryData } from '../plots/uplots.js';
import { drawContour, drawImportance, drawSlice } from '../plots/static-plots.js';
import type { Trial } from '../study-data.js';

export const PLOT_W = 620;

export function HistoryChart(p: { data: HistoryData; log: boolean; metric: string; onDrawn?(): void }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const u: uPlot = historyPlot(el.current, p.data, { width: PLOT_W, log: p.log, metric: p.metric });
    p.onDrawn?.();
    return () => u.destroy();
  }, [p.data, p.log]);
  return <div class="plot" data-plot="history" ref={el} />;
}

export function CurvesChart(p: { curves: Curve[]; metric: string; name?: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current || p.curves.length === 0) return;
    const u = curvesPlot(el.current, p.curves, { width: PLOT_W, metric: p.metric });
    return () => u.destroy();
  }, [p.curves]);
  return <div class="plot" data-plot={p.name ?? 'curves'} ref={el}>{p.curves.length === 0 && <p class="muted">no intermediate values yet</p>}</div>;
}

export function ImportanceChart(p: { items: Array<{ param: string; importance: number }> }) {
  const el = useRef<HTMLCanvasElement>(null);
  useEffect(() => { if (el.current) drawImportance(el.current, p.items, PLOT_W); }, [p.items]);
  return <canvas class="plot" data-plot="importance" ref={el} role="img" aria-label="parameter importance" />;
}

export function SliceChart(p: { trials: Trial[]; params: string[]; version: number }) {
  const el = useRef<HTMLCanvasElement>(null);
  useEffect(() => { if (el.current) drawSlice(el.current, p.trials, p.params, 2 * PLOT_W); }, [p.version, p.params]);
  return <canvas class="plot" data-plot="slice" ref={el} role="img" aria-label="slice plot" />;
}

export function ContourChart(p: { trials: Trial[]; params: string[]; minimize: boolean; version: number }) {
  const el = useRef<HTMLCanvasElement>(null);
  const [x, y] = [p.params[0], p.params[1] ?? p.params[0]];
  useEffect(() => { if (el.current && x && y) drawContour(el.current, p.trials, x, y, p.minimize, PLOT_W, 340); }, [p.version, x, y]);
  return <canvas class="plot" data-plot="contour" ref={el} role="img" aria-label={`contour of ${x} and ${y}`} />;
}
