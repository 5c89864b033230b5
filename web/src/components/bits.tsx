/** Small shared pieces: state badge, progress bar, relative time. */
export function StateBadge(p: { state: string }) {
  return <span class={`badge state-${p.state.toLowerCase()}`}>{p.state.toLowerCase()}</span>;
}

export function Progress(p: { done: number; total: number; counts?: Record<string, number> }) {
  const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
  const c = p.counts;
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={p.total} aria-valuenow={p.done} data-testid="progress">
      <div class="bar"><div style={{ width: `${pct}%` }} /></div>
      <span>{p.done} / {p.total}{c ? ` · ${c.running ?? 0} running · ${c.completed ?? 0} completed · ${c.pruned ?? 0} pruned · ${c.failed ?? 0} failed${c.paused ? ` · ${c.paused} paused` : ''}` : ''}</span>
    </div>
  );
}

export function ago(t: number | string | null | undefined): string {
  if (t === null || t === undefined) return '';
  const ms = typeof t === 'number' ? t : Date.parse(t);
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}
