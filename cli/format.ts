/** Plain-text rendering for the CLI: tables, study summaries and a progress line. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? v.toPrecision(4) : v.toExponential(3);
  return String(v);
}

export function fmtParams(p: Record<string, unknown> | null | undefined): string {
  if (!p) return '-';
  return Object.entries(p).map(([k, v]) => `${k}=${fmtValue(v)}`).join(' ');
}

export function progressLine(s: any): string {
  const c = s.counts;
  const finished = c.completed + c.failed + c.pruned + c.cancelled;
  const width = 24;
  const filled = Math.round((finished / s.maxTrials) * width);
  const bar = `[${'#'.repeat(Math.min(width, filled))}${'.'.repeat(Math.max(0, width - filled))}]`;
  const best = s.best ? `best ${s.objective.metric}=${fmtValue(s.best.value)} (trial ${s.best.number})` : 'no result yet';
  return `${bar} ${finished}/${s.maxTrials} done, ${c.running} running, ${c.queued} queued, ${c.failed} failed | ${best}`;
}

export function studySummary(s: any): string {
  const lines = [
    `study ${s.id} "${s.name}": ${s.state}${s.reason ? ` (${s.reason})` : ''}`,
    `  objective: ${s.objective.direction} ${s.objective.metric}${s.objective.goal !== undefined ? `, goal ${s.objective.goal}` : ''}; algorithm ${s.algorithm.name} (seed ${s.algorithm.seed})`,
    `  trials: ${s.created} created of ${s.maxTrials}; ${s.counts.completed} completed, ${s.counts.running} running, ${s.counts.queued} queued, ${s.counts.failed} failed, ${s.counts.pruned} pruned, ${s.counts.cancelled} cancelled`,
  ];
  if (s.best) lines.push(`  best: trial ${s.best.trialId} ${s.objective.metric}=${fmtValue(s.best.value)}  ${fmtParams(s.best.params)}`);
  return lines.join('\n');
}
