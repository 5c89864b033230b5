/** The model registry: registered models, then one model's versions with aliases, stages and runs. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc, get } from '../api.js';
import { canWrite, me } from '../auth.js';
import { useSignal } from '../signal.js';
import { ago } from '../components/bits.js';

export function ModelsPage() {
  const [models, setModels] = useState<any[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    get<any>('/api/v1/models?limit=1000').then((r) => setModels(r.models), (e) => setError(e instanceof ApiError && e.status === 404 ? 'this coordinator has no model registry' : String(e.message)));
  }, []);
  if (error) return <main><h1>Models</h1><p class="error" role="alert">{error}</p></main>;
  if (!models) return <main><p class="muted">loading…</p></main>;
  return (
    <main><h1>Models</h1>
      {models.length === 0 && <p class="muted">no registered models</p>}
      <table class="list" data-testid="models"><thead><tr><th>name</th><th>project</th><th>aliases</th><th>latest per stage</th><th>updated</th></tr></thead>
        <tbody>{models.map((m) => (
          <tr key={m.name}><td><a href={`/models/${enc(m.name)}`}>{m.name}</a></td><td>{m.project}</td>
            <td>{Object.entries(m.aliases ?? {}).map(([a, v]) => <span class="badge" key={a}>@{a} → v{String(v)}</span>)}</td>
            <td>{(m.latestVersions ?? []).map((v: any) => <span class="badge" key={v.version}>{v.stage}: v{v.version}</span>)}</td><td>{ago(m.updatedAt)}</td></tr>
        ))}</tbody></table>
    </main>
  );
}

export function ModelPage(p: { name: string }) {
  const who = useSignal(me);
  const [model, setModel] = useState<any>();
  const [error, setError] = useState<string>();
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const load = () => get<any>(`/api/v1/models/${enc(p.name)}`).then(setModel, (e) => setError(String(e.message)));
  useEffect(() => { void load(); }, [p.name]);
  if (error) return <main><p class="error" role="alert">{error}</p></main>;
  if (!model) return <main><p class="muted">loading…</p></main>;
  const writable = canWrite(model.project, who);
  return (
    <main><h1>{model.name}</h1>
      <p class="muted">project {model.project} · {model.description}</p>
      <section class="card wide"><h2>Versions</h2>
        <table class="list" data-testid="versions"><thead><tr><th>version</th><th>stage</th><th>aliases</th><th>run</th><th>status</th><th>created</th></tr></thead>
          <tbody>{model.versions.map((v: any) => (
            <tr key={v.version} data-testid={`version-${v.version}`}><td>v{v.version}</td><td>{v.stage}</td>
              <td data-testid="aliases">{v.aliases.map((a: string) => <span class="badge" key={a}>@{a}</span>)}</td>
              <td><a href={`/runs/${v.runId}`}>{v.runId}</a>{v.lineage?.studyId ? <> (study <a href={`/studies/${v.lineage.studyId}`}>{v.lineage.studyId}</a>)</> : null}</td>
              <td>{v.status}</td><td>{ago(v.createdAt)} by {v.createdBy}</td></tr>
          ))}</tbody></table>
      </section>
      {writable && (
        <section class="card"><h2>Set an alias</h2>
          <form onSubmit={async (e) => { e.preventDefault(); try { await api('PUT', `/api/v1/models/${enc(p.name)}/aliases/${enc(alias)}`, { version: Number(version) }); await load(); } catch (err) { setError((err as Error).message); } }}>
            <input aria-label="alias" placeholder="alias" value={alias} onInput={(e) => setAlias((e.currentTarget as HTMLInputElement).value)} required />
            <input aria-label="version" type="number" min={1} placeholder="version" value={version} onInput={(e) => setVersion((e.currentTarget as HTMLInputElement).value)} required />
            <button type="submit" data-write="alias">Set alias</button>
          </form>
        </section>
      )}
    </main>
  );
}
