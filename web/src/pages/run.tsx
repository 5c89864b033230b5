/**
 * A run: params, tags, the note (editable by editors), provenance, metric charts, artifacts
 * (download, inline preview of images and small text/CSV), and for a trial run its stderr tail
 * and attempts.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, enc, get, getOptional } from '../api.js';
import { canWrite, me } from '../auth.js';
import { useSignal } from '../signal.js';
import { ago, StateBadge } from '../components/bits.js';
import { CurvesChart } from '../components/plot-frames.js';
import type { Curve } from '../plots/uplots.js';
import type { Provenance } from '../../../shared/run-model.js';

const PREVIEW_BYTES = 256 * 1024;

export function RunPage(p: { id: string }) {
  const who = useSignal(me);
  const [run, setRun] = useState<any>();
  const [trial, setTrial] = useState<any>();
  const [prov, setProv] = useState<any>();
  const [files, setFiles] = useState<any[]>([]);
  const [charts, setCharts] = useState<Array<{ name: string; curve: Curve }>>([]);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const [preview, setPreview] = useState<{ path: string; kind: 'image' | 'text'; text?: string }>();
  const isTrial = /^[^.]+\.\d+$/.test(p.id);

  useEffect(() => {
    (async () => {
      try {
        const r = await get(`/api/v1/runs/${enc(p.id)}`);
        setRun(r);
        setNote(r.note ?? '');
        const t = isTrial ? await get(`/api/v1/trials/${enc(p.id)}`).catch(() => undefined) : undefined;
        setTrial(t);
        setProv(await getOptional(`/api/v1/runs/${enc(p.id)}/provenance`).catch(() => undefined));
        setFiles((await getOptional<any>(`/api/v1/runs/${enc(p.id)}/artifacts`).catch(() => undefined))?.files ?? []);
        const names: string[] = t ? (await get<any>(`/api/v1/trials/${enc(p.id)}/metrics`)).metrics.map((m: any) => m.name) : Object.keys(r.metrics ?? {});
        const out = await Promise.all(names.slice(0, 12).map(async (name) => {
          const s = t ? await get<any>(`/api/v1/trials/${enc(p.id)}/metrics/${enc(name)}?maxPoints=600`) : await get<any>(`/api/v1/runs/${enc(p.id)}/metrics/${enc(name)}?limit=1000`);
          return { name, curve: { number: r.trialNumber ?? 0, state: r.state, steps: s.points.map((x: any) => x.step), values: s.points.map((x: any) => x.value) } };
        }));
        setCharts(out);
      } catch (err) { setError((err as Error).message); }
    })();
  }, [p.id]);

  if (error) return <main><p class="error" role="alert">{error}</p></main>;
  if (!run) return <main><p class="muted">loading…</p></main>;
  const writable = canWrite(run.project, who);
  const fileUrl = (path: string) => `/api/v1/runs/${enc(p.id)}/artifacts/${path.split('/').map(enc).join('/')}`;
  const open = async (f: any) => {
    if (/^image\//.test(f.contentType) || /\.(png|jpe?g|gif|webp|svg)$/i.test(f.path)) setPreview({ path: f.path, kind: 'image' });
    else if (f.size <= PREVIEW_BYTES) setPreview({ path: f.path, kind: 'text', text: await (await fetch(fileUrl(f.path), { credentials: 'same-origin' })).text() });
  };
  const previewable = (f: any) => /^image\//.test(f.contentType) || /\.(png|jpe?g|gif|webp)$/i.test(f.path) || (f.size <= PREVIEW_BYTES && (/^text\/|json|csv/.test(f.contentType) || /\.(txt|csv|json|log|md|ya?ml)$/i.test(f.path)));

  return (
    <main class="run-page">
      <header class="page-head">
        <h1>{run.name} <StateBadge state={run.state} /></h1>
        <p class="muted">{run.id} · {run.kind} run · project {run.project}
          {run.studyId && <> · study <a href={`/studies/${run.studyId}`}>{run.studyId}</a></>} · started {ago(run.startTime)}</p>
      </header>
      <section class="card"><h2>Params</h2><KV rec={run.params} /></section>
      <section class="card"><h2>Metrics (latest)</h2><KV rec={Object.fromEntries(Object.entries(run.metrics ?? {}).map(([k, v]: [string, any]) => [k, `${v.value} @ step ${v.step}`]))} /></section>
      <section class="card"><h2>Tags</h2><KV rec={run.tags} /></section>
      <section class="card"><h2>Note</h2>
        {writable ? (
          <form onSubmit={async (e) => { e.preventDefault(); const r = await api('PATCH', `/api/v1/runs/${enc(p.id)}`, { note }); setRun(r); }}>
            <textarea aria-label="note" rows={4} value={note} onInput={(e) => setNote((e.currentTarget as HTMLTextAreaElement).value)} />
            <button type="submit" data-write="note">Save note</button>
          </form>
        ) : <p>{run.note || <span class="muted">no note</span>}</p>}
      </section>
      <section class="card wide"><h2>Provenance</h2><Provenance p={run.provenance} hardware={trial?.hardware} /></section>
      <section class="card wide"><h2>Metric charts</h2>
        {charts.length === 0 && <p class="muted">no metrics</p>}
        <div class="grid">{charts.map((c) => <div key={c.name}><h3>{c.name}</h3><CurvesChart curves={[c.curve]} metric={c.name} name={`metric-${c.name}`} /></div>)}</div>
      </section>
      <section class="card wide"><h2>Artifacts</h2>
        {files.length === 0 ? <p class="muted">no artifacts</p> : (
          <table class="list" data-testid="artifacts"><thead><tr><th>path</th><th>size</th><th>sha256</th><th /></tr></thead>
            <tbody>{files.map((f) => (
              <tr key={f.path}><td><a href={fileUrl(f.path)} download={f.path.split('/').pop()} data-testid="artifact-link">{f.path}</a></td><td>{f.size}</td><td class="mono">{f.sha256.slice(0, 16)}…</td>
                <td>{previewable(f) && <button type="button" onClick={() => void open(f)}>Preview</button>}</td></tr>
            ))}</tbody></table>
        )}
        {preview && (
          <div class="preview" data-testid="preview"><h3>{preview.path}</h3>
            {preview.kind === 'image' ? <img src={fileUrl(preview.path)} alt={preview.path} /> : /\.csv$/i.test(preview.path) ? <CsvPreview text={preview.text ?? ''} /> : <pre>{preview.text}</pre>}
          </div>
        )}
      </section>
      {trial && (
        <>
          <section class="card wide"><h2>Attempts</h2>
            <table class="list"><thead><tr><th>attempt</th><th>worker</th><th>started</th><th>finished</th><th>exit</th><th>reason</th></tr></thead>
              <tbody>
                {attemptsOf(trial, prov).map((a) => (
                  <tr key={a.attempt}><td>{a.attempt}</td><td>{a.workerId}</td><td>{fmtTime(a.startedAt)}</td><td>{fmtTime(a.finishedAt)}</td><td>{a.exitCode}</td><td>{a.reason}</td></tr>
                ))}
              </tbody></table>
          </section>
          <section class="card wide"><h2>stderr (tail)</h2>{trial.stderrTail ? <pre data-testid="stderr">{trial.stderrTail}</pre> : <p class="muted">empty</p>}</section>
        </>
      )}
    </main>
  );
}

/**
 * One row per attempt: earlier attempts from their provenance records (when they were captured),
 * the latest from the trial itself (its worker, times, exit code and reason).
 */
function attemptsOf(trial: any, prov: any): Array<{ attempt: number; workerId: string; startedAt: unknown; finishedAt: unknown; exitCode: string; reason: string }> {
  const rows = new Map<number, { attempt: number; workerId: string; startedAt: unknown; finishedAt: unknown; exitCode: string; reason: string }>();
  for (const p of (Array.isArray(prov?.provenance) ? prov.provenance : []) as Provenance[]) {
    if (p.attempt > 0) rows.set(p.attempt, { attempt: p.attempt, workerId: '', startedAt: p.capturedAt, finishedAt: null, exitCode: '', reason: '' });
  }
  if (trial.attempt > 0) {
    rows.set(trial.attempt, { attempt: trial.attempt, workerId: trial.workerId ?? '', startedAt: trial.startedAt, finishedAt: trial.finishedAt, exitCode: trial.exitCode ?? '', reason: trial.reason ?? trial.lastReason ?? '' });
  }
  return [...rows.values()].sort((a, b) => a.attempt - b.attempt);
}

const fmtTime = (t: unknown) => (t === null || t === undefined ? '' : new Date(typeof t === 'number' ? t : String(t)).toISOString().replace('T', ' ').slice(0, 19));

function KV(p: { rec: Record<string, unknown> | null | undefined }) {
  const e = Object.entries(p.rec ?? {});
  if (e.length === 0) return <p class="muted">none</p>;
  return <table class="kv"><tbody>{e.map(([k, v]) => <tr key={k}><th>{k}</th><td>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</td></tr>)}</tbody></table>;
}

/** Code and data version, seed, command, image, runtime, hardware; the environment folded away. */
function Provenance(p: { p: Provenance | null; hardware?: unknown }) {
  const v = p.p;
  if (!v) return <p class="muted">none recorded</p>;
  const code = v.code.source === 'none' ? 'not recorded'
    : [v.code.commit ? `${v.code.commit.slice(0, 12)}${v.code.dirty ? ' (dirty)' : ''}` : '', v.code.branch ? `on ${v.code.branch}` : '', v.code.version ?? '', v.code.remote ? `from ${v.code.remote}` : '', `(${v.code.source})`].filter(Boolean).join(' ');
  const data = v.data.source === 'none' ? 'not recorded' : `${v.data.version ?? ''} (${v.data.source}${v.data.files.length ? `, ${v.data.files.length} files hashed` : ''}${v.data.dvc.length ? `, ${v.data.dvc.length} DVC hashes` : ''})`;
  const hw = p.hardware && typeof p.hardware === 'object' ? JSON.stringify(p.hardware) : '';
  return (
    <>
      <table class="kv" data-testid="provenance"><tbody>
        <tr><th>code</th><td class="mono">{code}</td></tr>
        <tr><th>data</th><td class="mono">{data}</td></tr>
        <tr><th>seed</th><td>{v.seed}</td></tr>
        <tr><th>command</th><td class="mono">{v.command.join(' ')}</td></tr>
        {v.image && <tr><th>image</th><td class="mono">{v.image.reference}{v.image.digest ? ` @ ${v.image.digest}` : ''}</td></tr>}
        {v.runtime && <tr><th>runtime</th><td>{v.runtime}</td></tr>}
        {hw && <tr><th>hardware</th><td class="mono">{hw}</td></tr>}
        <tr><th>captured</th><td>{fmtTime(v.capturedAt)} (attempt {v.attempt})</td></tr>
      </tbody></table>
      {v.data.files.length > 0 && <details><summary>data files</summary><table class="list"><tbody>{v.data.files.map((f) => <tr key={f.path}><td class="mono">{f.path}</td><td>{f.size}</td><td class="mono">{f.sha256.slice(0, 16)}…</td></tr>)}</tbody></table></details>}
      <details><summary>environment ({Object.keys(v.env).length} variables, secrets dropped)</summary><KV rec={v.env} /></details>
    </>
  );
}

function CsvPreview(p: { text: string }) {
  const lines = p.text.split(/\r?\n/).filter(Boolean).slice(0, 50).map((l) => l.split(','));
  return <table class="list csv"><tbody>{lines.map((cells, i) => <tr key={i}>{cells.map((c, j) => (i === 0 ? <th key={j}>{c}</th> : <td key={j}>{c}</td>))}</tr>)}</tbody></table>;
}
