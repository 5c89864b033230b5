/**
 * The study page. Data: the columnar `table` (all trials, or the server's sample), kept current
 * by SSE `changed` events that trigger incremental fetches with the cursors; the history,
 * curves and importance answers come from the plot routes sized for the screen. The filter box
 * and the parallel-coordinates brushes both narrow the one table.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, enc, get, getOptional } from '../api.js';
import { canWrite, me } from '../auth.js';
import { useSignal } from '../signal.js';
import { asRunView, bestSoFar, StudyTrials, toCsv, type Trial } from '../study-data.js';
import { matches } from '../../../shared/run-filter/evaluate.js';
import type { Filter } from '../../../shared/run-filter/ast.js';
import { FilterBox } from '../components/filter-box.js';
import { columnsFor, TrialsTable } from '../components/trials-table.js';
import { ContourChart, CurvesChart, HistoryChart, ImportanceChart, PLOT_W, SliceChart } from '../components/plot-frames.js';
import { ParallelCoordinates, type Brushes } from '../plots/parallel-coordinates.js';
import type { Curve, HistoryData } from '../plots/uplots.js';
import { Progress, StateBadge } from '../components/bits.js';
import { importanceEstimate } from '../importance-estimate.js';

const mark = (name: string) => { try { performance.mark(name); } catch { /* marks are best effort */ } };

export function StudyPage(p: { id: string }) {
  const who = useSignal(me);
  const [study, setStudy] = useState<any>();
  const [error, setError] = useState<string>();
  const data = useRef<StudyTrials>();
  const [version, setVersion] = useState(0);
  const [history, setHistory] = useState<HistoryData & { sampled: boolean }>();
  const [curves, setCurves] = useState<{ sampled: boolean; curves: Curve[] }>();
  const [importance, setImportance] = useState<{ method: string; importances: Array<{ param: string; importance: number }> }>();
  const [log, setLog] = useState(false);
  const [filter, setFilter] = useState<Filter | undefined>();
  const [brushes, setBrushes] = useState<Brushes>({});
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [contour, setContour] = useState<[string, string] | undefined>();
  const [live, setLive] = useState<'sse' | 'poll' | 'off'>('off');
  const pc = useRef<ParallelCoordinates>();
  const pcCanvas = useRef<HTMLCanvasElement>(null);
  const filterStart = useRef(0);

  const minimize = study?.objective?.direction === 'minimize';
  const metric: string = study?.objective?.metric ?? 'value';

  // Load the study, then the table and the plots; then follow it live.
  useEffect(() => {
    let closed = false;
    let es: EventSource | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let busy = false, again = false;
    mark('th:study-start');
    const refresh = async () => {
      if (busy) { again = true; return; }
      busy = true;
      try {
        do {
          again = false;
          await data.current!.refresh();
          if (closed) return;
          setVersion(data.current!.version);
        } while (again);
        const s = await get(`/api/v1/studies/${enc(p.id)}`);
        if (!closed) setStudy(s);
        await loadPlots(s);
      } catch (err) { if (!closed) setError(String((err as Error).message)); } finally { busy = false; }
    };
    const loadPlots = async (s: any) => {
      const d = data.current!;
      const trials = d.trials;
      const minimize = s.objective.direction === 'minimize';
      // With every trial on the page the history is computed here (no wait); a sample asks the
      // server, whose answer covers all trials (sized for the screen, min/max kept per bucket).
      if (!d.sampled) setHistory({ sampled: false, points: trials.map((t) => ({ number: t.number, value: t.value, state: t.state })), best: bestSoFar(trials, minimize) });
      else void getOptional(`/api/v1/studies/${enc(p.id)}/plots/history?points=${2 * PLOT_W}`).then((h) => {
        if (!closed) setHistory(h ?? { sampled: true, points: trials.map((t) => ({ number: t.number, value: t.value, state: t.state })), best: bestSoFar(trials, minimize) });
      });
      void getOptional(`/api/v1/studies/${enc(p.id)}/plots/curves?trials=30&points=${PLOT_W}`).then(async (c) => {
        const v = c ?? { sampled: false, curves: await curvesFromTrials(p.id, s.objective.metric, trials) };
        if (!closed) setCurves(v);
      }).catch(() => undefined);
      void getOptional(`/api/v1/studies/${enc(p.id)}/plots/importance`).catch(() => undefined).then((i) => {
        if (!closed) setImportance(i ?? { method: 'η² estimate (in the browser: this coordinator has no importance route)', importances: importanceEstimate(trials, d.paramNames) });
      });
    };
    const poll = () => { timer = setTimeout(async () => { await refresh(); if (!closed) poll(); }, 2000); };
    (async () => {
      try {
        const s = await get(`/api/v1/studies/${enc(p.id)}`);
        if (closed) return;
        setStudy(s);
        data.current = new StudyTrials(p.id, s.objective.metric);
        await data.current.refresh();
        if (closed) return;
        setVersion(data.current.version);
        await loadPlots(s);
        if (s.state !== 'RUNNING') return;
        es = new EventSource(`/api/v1/studies/${enc(p.id)}/events`);
        es.addEventListener('open', () => setLive('sse'));
        es.addEventListener('changed', () => void refresh());
        es.addEventListener('study', (e) => {
          let d: any;
          try { d = JSON.parse((e as MessageEvent).data); } catch { return; }
          setStudy((o: any) => ({ ...o, ...d }));
          // The study ended: one last incremental fetch, and no more stream (nor reconnects).
          if (d.state && d.state !== 'RUNNING') { es?.close(); es = undefined; setLive('off'); void refresh(); }
        });
        es.addEventListener('error', () => {
          // No events route (or the stream dropped for good): poll the incremental table instead.
          if (es && es.readyState === EventSource.CLOSED && !closed) { es = undefined; setLive('poll'); poll(); }
        });
      } catch (err) { if (!closed) setError(String((err as Error).message)); }
    })();
    return () => { closed = true; es?.close(); if (timer) clearTimeout(timer); };
  }, [p.id]);

  const project = study?.project as string | undefined;
  const trials = useMemo(() => data.current?.trials ?? [], [version]);
  const paramNames = data.current?.paramNames ?? [];
  const views = useMemo(() => trials.map((t) => asRunView(p.id, metric, project ?? '', t)), [trials, metric]);
  const rows = useMemo(() => {
    const out: Trial[] = [];
    const brushed = Object.keys(brushes).length > 0 && pc.current;
    for (let i = 0; i < trials.length; i++) {
      if (filter && !matches(views[i]!, filter)) continue;
      if (brushed && !pc.current!.passes(trials[i]!)) continue;
      out.push(trials[i]!);
    }
    return out;
  }, [views, filter, brushes]);
  useEffect(() => {
    if (filterStart.current) {
      const ms = performance.now() - filterStart.current;
      filterStart.current = 0;
      (window as any).__thFilterMs = ms;
      mark('th:filter-applied');
    }
  }, [rows]);
  useEffect(() => { if (trials.length && data.current) mark('th:table-rendered'); }, [trials.length > 0]);

  // Parallel coordinates: created once the canvas exists, fed on every table change.
  useEffect(() => {
    if (!pcCanvas.current || paramNames.length === 0) return;
    if (!pc.current) pc.current = new ParallelCoordinates(pcCanvas.current, { width: 2 * PLOT_W, height: 300, params: paramNames, minimize, onBrush: (b) => setBrushes({ ...b }) });
    pc.current.setData(trials, paramNames);
  }, [version, paramNames.join(), pcCanvas.current]);

  const columns = useMemo(() => columnsFor(paramNames, metric), [paramNames.join(), metric]);
  const numericParams = paramNames.filter((n) => trials.some((t) => typeof t.params[n] === 'number'));
  const cxy = contour ?? [numericParams[0] ?? paramNames[0] ?? '', numericParams[1] ?? paramNames[1] ?? paramNames[0] ?? ''];

  if (error) return <main><p class="error" role="alert">{error}</p></main>;
  if (!study) return <main><p class="muted">loading…</p></main>;
  const writable = canWrite(project, who);
  const positive = trials.every((t) => t.value === null || t.value > 0);
  const finished = study.counts.completed + study.counts.failed + study.counts.pruned + study.counts.cancelled;

  const exportCsv = () => {
    const blob = new Blob([toCsv(rows, paramNames, metric)], { type: 'text/csv' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${study.name || study.id}-trials.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  return (
    <main class="study-page">
      <header class="page-head">
        <h1>{study.name} <StateBadge state={study.state} /></h1>
        <p class="muted">{study.id} · project {study.project} · {study.algorithm?.name ?? ''} · {study.objective.direction} {metric}
          {' · '}<span data-testid="live">{live === 'sse' ? 'live' : live === 'poll' ? 'live (polling)' : ''}</span></p>
        <Progress done={finished} total={study.maxTrials} counts={study.counts} />
        {study.best && <p>best: <strong data-testid="best">{study.best.value}</strong> (trial <a href={`/runs/${study.best.trialId}`}>#{study.best.number}</a>)</p>}
        {writable && study.state === 'RUNNING' && (
          <button type="button" data-write="stop" onClick={async () => { await api('POST', `/api/v1/studies/${enc(p.id)}/stop`); }}>Stop study</button>
        )}
        {data.current?.sampled && <p class="notice" data-testid="sampled">sampled: the table and the plots show {trials.length} of {data.current.total} trials (the best kept); filters apply to the sample.</p>}
      </header>

      <section class="card"><h2>Optimisation history</h2>
        <label title={positive ? '' : 'a log axis needs positive values'}><input type="checkbox" checked={log && positive} disabled={!positive} onChange={() => setLog(!log)} data-testid="log-toggle" /> log axis</label>
        {history?.sampled && <span class="notice" data-testid="history-sampled"> sampled for the screen (min/max kept per bucket)</span>}
        {history && <HistoryChart data={history} log={log && positive} metric={metric} onDrawn={() => mark('th:history-drawn')} />}
      </section>

      <section class="card"><h2>Parameter importance</h2>
        {importance && <><p class="muted">method: {importance.method}</p><ImportanceChart items={importance.importances} /></>}
      </section>

      <section class="card wide"><h2>Parallel coordinates</h2>
        <p class="muted">drag along an axis to brush a range (click an axis to clear it, double-click to clear all); the table follows.</p>
        <canvas ref={pcCanvas} class="plot" data-plot="parallel" role="img" aria-label="parallel coordinates" />
      </section>

      <section class="card wide"><h2>Slice</h2><SliceChart trials={trials} params={paramNames} version={version} /></section>

      <section class="card"><h2>Contour</h2>
        <select aria-label="contour x" value={cxy[0]} onChange={(e) => setContour([(e.currentTarget as HTMLSelectElement).value, cxy[1]])}>{paramNames.map((n) => <option key={n}>{n}</option>)}</select>
        <select aria-label="contour y" value={cxy[1]} onChange={(e) => setContour([cxy[0], (e.currentTarget as HTMLSelectElement).value])}>{paramNames.map((n) => <option key={n}>{n}</option>)}</select>
        <ContourChart trials={trials} params={cxy} minimize={minimize} version={version} />
      </section>

      <section class="card"><h2>Intermediate values</h2>
        <p class="muted">solid: completed/running · dotted orange: pruned · dashed purple: paused{curves?.sampled ? ' · sampled for the screen' : ''}</p>
        {curves && <CurvesChart curves={curves.curves} metric={metric} />}
      </section>

      <section class="card wide"><h2>Trials</h2>
        <div class="row-tools">
          <FilterBox onFilter={(f) => { filterStart.current = performance.now(); setFilter(f); }} />
          <button type="button" onClick={exportCsv} data-testid="export-csv">Export CSV</button>
          {Object.keys(brushes).length > 0 && <button type="button" onClick={() => { if (pc.current) { pc.current.brushes = {}; pc.current.draw(); } setBrushes({}); }}>Clear brushes</button>}
        </div>
        <TrialsTable rows={rows} columns={columns} studyId={p.id} selected={selected} onSelect={setSelected} />
      </section>

      {selected.size >= 2 && <Compare studyId={p.id} metric={metric} trials={trials.filter((t) => selected.has(t.number))} params={paramNames} />}
    </main>
  );
}

/** Up to 10 trials' objective curves through the per-trial metric route (older coordinators). */
async function curvesFromTrials(studyId: string, metric: string, trials: Trial[]): Promise<Curve[]> {
  const pick = [...trials].filter((t) => t.state !== 'QUEUED').sort((a, b) => b.number - a.number).slice(0, 10);
  const out = await Promise.all(pick.map(async (t) => {
    const s = await get<any>(`/api/v1/trials/${enc(`${studyId}.${t.number}`)}/metrics/${enc(metric)}?maxPoints=${PLOT_W}`).catch(() => undefined);
    return s ? { number: t.number, state: t.state, steps: s.points.map((x: any) => x.step), values: s.points.map((x: any) => x.value) } : undefined;
  }));
  return out.filter((c): c is Curve => !!c && c.steps.length > 0);
}

function Compare(p: { studyId: string; metric: string; trials: Trial[]; params: string[] }) {
  const [curves, setCurves] = useState<Curve[]>([]);
  const key = p.trials.map((t) => t.number).join();
  useEffect(() => { void curvesFromTrials(p.studyId, p.metric, p.trials).then(setCurves); }, [key]);
  const differs = (n: string) => new Set(p.trials.map((t) => String(t.params[n]))).size > 1;
  return (
    <section class="card wide" data-testid="compare"><h2>Compare {p.trials.length} trials</h2>
      <table class="kv">
        <thead><tr><th>param</th>{p.trials.map((t) => <th key={t.number}><a href={`/runs/${p.studyId}.${t.number}`}>#{t.number}</a></th>)}</tr></thead>
        <tbody>
          <tr><th>{p.metric}</th>{p.trials.map((t) => <td key={t.number}>{t.value ?? ''}</td>)}</tr>
          {p.params.map((n) => <tr key={n} class={differs(n) ? 'diff' : ''}><th>{n}</th>{p.trials.map((t) => <td key={t.number}>{String(t.params[n] ?? '')}</td>)}</tr>)}
        </tbody>
      </table>
      <CurvesChart curves={curves} metric={p.metric} name="compare-curves" />
    </section>
  );
}
