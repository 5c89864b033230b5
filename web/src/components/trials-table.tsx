/**
 * The trials table: virtualised (only the visible rows are in the DOM, so 100k rows scroll
 * smoothly), sortable by any column, columns chosen by the user, rows selected for compare.
 * Keyboard: the body is one tab stop; arrows/PageUp/PageDown/Home/End move the active row,
 * Space selects it, Enter opens its run.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Trial } from '../study-data.js';
import { navigate } from '../router.js';
import { fmt } from '../plots/canvas.js';

const ROW_H = 26;
const VIEW_ROWS = 16;

export interface Column { key: string; label: string; get(t: Trial): string | number | null | undefined }

export function columnsFor(paramNames: string[], metric: string): Column[] {
  return [
    { key: 'number', label: '#', get: (t) => t.number },
    { key: 'state', label: 'state', get: (t) => t.state },
    { key: 'value', label: metric, get: (t) => t.value },
    ...paramNames.map((p): Column => ({ key: `params.${p}`, label: p, get: (t) => { const v = t.params[p]; return typeof v === 'boolean' ? String(v) : v; } })),
    { key: 'duration', label: 'duration s', get: (t) => (t.startedAt && t.finishedAt ? (t.finishedAt - t.startedAt) / 1000 : null) },
  ];
}

const show = (v: string | number | null | undefined) => (v === null || v === undefined ? '' : typeof v === 'number' ? fmt(v) : v);

export function TrialsTable(p: { rows: Trial[]; columns: Column[]; studyId: string; selected: Set<number>; onSelect(s: Set<number>): void }) {
  const [sort, setSort] = useState<{ key: string; desc: boolean }>({ key: 'number', desc: false });
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [chooser, setChooser] = useState(false);
  const [scroll, setScroll] = useState(0);
  const [active, setActive] = useState(0);
  const body = useRef<HTMLDivElement>(null);
  const cols = p.columns.filter((c) => !hidden.has(c.key));

  const sorted = useMemo(() => {
    const col = p.columns.find((c) => c.key === sort.key) ?? p.columns[0]!;
    const dir = sort.desc ? -1 : 1;
    return [...p.rows].sort((a, b) => {
      const x = col.get(a), y = col.get(b);
      // Missing values sort last whatever the direction.
      if (x === null || x === undefined) return y === null || y === undefined ? a.number - b.number : 1;
      if (y === null || y === undefined) return -1;
      if (x < y) return -dir;
      if (x > y) return dir;
      return a.number - b.number;
    });
  }, [p.rows, sort, p.columns]);

  useEffect(() => { if (active >= sorted.length) setActive(Math.max(0, sorted.length - 1)); }, [sorted.length]);

  const first = Math.max(0, Math.floor(scroll / ROW_H) - 4);
  const last = Math.min(sorted.length, first + VIEW_ROWS + 8);
  const visible = sorted.slice(first, last);

  const moveTo = (i: number) => {
    const n = Math.max(0, Math.min(sorted.length - 1, i));
    setActive(n);
    const el = body.current;
    if (el) {
      if (n * ROW_H < el.scrollTop) el.scrollTop = n * ROW_H;
      else if ((n + 1) * ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = (n + 1) * ROW_H - el.clientHeight;
    }
  };
  const toggle = (num: number) => {
    const s = new Set(p.selected);
    if (s.has(num)) s.delete(num); else s.add(num);
    p.onSelect(s);
  };
  const onKey = (e: KeyboardEvent) => {
    const t = sorted[active];
    switch (e.key) {
      case 'ArrowDown': moveTo(active + 1); break;
      case 'ArrowUp': moveTo(active - 1); break;
      case 'PageDown': moveTo(active + VIEW_ROWS); break;
      case 'PageUp': moveTo(active - VIEW_ROWS); break;
      case 'Home': moveTo(0); break;
      case 'End': moveTo(sorted.length - 1); break;
      case ' ': if (t) toggle(t.number); break;
      case 'Enter': if (t) navigate(`/runs/${p.studyId}.${t.number}`); break;
      default: return;
    }
    e.preventDefault();
  };
  const template = `32px ${cols.map(() => 'minmax(80px, 1fr)').join(' ')}`;

  return (
    <div class="trials-table">
      <div class="table-tools">
        <span class="muted" data-testid="row-count">{sorted.length} rows</span>
        <button type="button" onClick={() => setChooser(!chooser)} aria-expanded={chooser}>Columns</button>
        {chooser && (
          <div class="column-chooser" role="group" aria-label="columns">
            {p.columns.map((c) => (
              <label key={c.key}><input type="checkbox" checked={!hidden.has(c.key)} onChange={() => {
                const h = new Set(hidden);
                if (h.has(c.key)) h.delete(c.key); else h.add(c.key);
                setHidden(h);
              }} /> {c.label}</label>
            ))}
          </div>
        )}
      </div>
      <div class="thead" role="row" style={{ gridTemplateColumns: template }}>
        <span />
        {cols.map((c) => (
          <button type="button" role="columnheader" key={c.key} class="th" aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}
            onClick={() => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : false })}>
            {c.label}{sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : ''}
          </button>
        ))}
      </div>
      <div class="tbody" ref={body} tabIndex={0} role="grid" aria-label="trials" aria-rowcount={sorted.length} data-testid="trials-body"
        aria-activedescendant={sorted[active] ? `trial-row-${sorted[active]!.number}` : undefined}
        onScroll={(e) => setScroll((e.currentTarget as HTMLDivElement).scrollTop)} onKeyDown={onKey}
        style={{ height: `${VIEW_ROWS * ROW_H}px` }}>
        <div style={{ height: `${sorted.length * ROW_H}px`, position: 'relative' }}>
          {visible.map((t, k) => {
            const i = first + k;
            return (
              <div key={t.number} id={`trial-row-${t.number}`} role="row" aria-selected={p.selected.has(t.number)}
                class={`tr${i === active ? ' active' : ''}${p.selected.has(t.number) ? ' selected' : ''} state-${t.state.toLowerCase()}`}
                style={{ top: `${i * ROW_H}px`, gridTemplateColumns: template }} onClick={() => setActive(i)} onDblClick={() => navigate(`/runs/${p.studyId}.${t.number}`)}>
                <input type="checkbox" tabIndex={-1} aria-label={`select trial ${t.number}`} checked={p.selected.has(t.number)} onClick={(e) => { e.stopPropagation(); toggle(t.number); }} />
                {cols.map((c) => <span role="gridcell" key={c.key}>{c.key === 'number' ? <a href={`/runs/${p.studyId}.${t.number}`} tabIndex={-1}>{t.number}</a> : show(c.get(t))}</span>)}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
