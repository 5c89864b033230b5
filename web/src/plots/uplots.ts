/**
 * The two uPlot charts: optimisation history (every trial as a point, best-so-far as a step
 * line, optional log y) and intermediate values (one line per trial, pruned and paused trials
 * marked by colour and dash). uPlot draws 10k+ points on canvas in a few milliseconds.
 */
import uPlot from 'uplot';
import { STATE_COLOURS } from './canvas.js';

export interface HistoryData { points: Array<{ number: number; value: number | null; state: string }>; best: Array<{ number: number; value: number }> }

export function historyPlot(el: HTMLElement, d: HistoryData, o: { width: number; log: boolean; metric: string }): uPlot {
  const pts = d.points.filter((p) => p.value !== null && (!o.log || p.value > 0));
  const xs = [...new Set([...pts.map((p) => p.number), ...d.best.map((b) => b.number)])].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const vals: (number | null)[] = xs.map(() => null), best: (number | null)[] = xs.map(() => null);
  for (const p of pts) vals[index.get(p.number)!] = p.value;
  for (const b of d.best) if (!o.log || b.value > 0) best[index.get(b.number)!] = b.value;
  const opts: uPlot.Options = {
    width: o.width, height: 260,
    scales: { x: { time: false }, y: { distr: o.log ? 3 : 1 } },
    axes: [{ label: 'trial' }, { label: o.metric }],
    series: [
      {},
      { label: o.metric, stroke: STATE_COLOURS.COMPLETED!, paths: () => null, points: { show: true, size: 4, fill: STATE_COLOURS.COMPLETED! } },
      { label: 'best so far', stroke: '#c62828', width: 2, spanGaps: true, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false } },
    ],
    legend: { show: true },
  };
  return new uPlot(opts, [xs, vals, best], el);
}

export interface Curve { number: number; state: string; steps: number[]; values: number[] }

export function curvesPlot(el: HTMLElement, curves: Curve[], o: { width: number; metric: string }): uPlot {
  const steps = [...new Set(curves.flatMap((c) => c.steps))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const data: uPlot.AlignedData = [steps, ...curves.map((c) => {
    const ys: (number | null)[] = steps.map(() => null);
    c.steps.forEach((s, i) => { ys[index.get(s)!] = c.values[i]!; });
    return ys;
  })];
  const opts: uPlot.Options = {
    width: o.width, height: 260,
    scales: { x: { time: false } },
    axes: [{ label: 'step' }, { label: o.metric }],
    series: [{}, ...curves.map((c) => ({
      label: `#${c.number} ${c.state.toLowerCase()}`, spanGaps: true, width: 1,
      stroke: STATE_COLOURS[c.state] ?? '#555', dash: c.state === 'PAUSED' ? [4, 4] : c.state === 'PRUNED' ? [2, 2] : [],
      points: { show: false },
    }))],
    legend: { show: curves.length <= 12 },
  };
  return new uPlot(opts, data, el);
}
