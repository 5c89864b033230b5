/** Projects and their studies and experiments: progress, state, best, last activity, a search box. */
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { ago, Progress, StateBadge } from '../components/bits.js';

export function HomePage() {
  const [studies, setStudies] = useState<any[]>();
  const [experiments, setExperiments] = useState<any[]>([]);
  const [q, setQ] = useState('');
  const [error, setError] = useState<string>();
  useEffect(() => {
    get<any>('/api/v1/studies?limit=1000').then((r) => setStudies(r.studies), (e) => setError(String(e.message)));
    get<any>('/api/v1/experiments?pageSize=200').then((r) => setExperiments(r.experiments ?? []), () => setExperiments([]));
  }, []);
  if (error) return <main><p class="error" role="alert">{error}</p></main>;
  if (!studies) return <main><p class="muted">loading…</p></main>;
  const ql = q.toLowerCase();
  const hit = (...xs: unknown[]) => !ql || xs.some((x) => String(x ?? '').toLowerCase().includes(ql));
  const shown = studies.filter((s) => hit(s.name, s.id, s.project, s.state));
  const studyIds = new Set(studies.map((s) => s.id));
  const plain = experiments.filter((e) => !studyIds.has(e.id) && hit(e.name, e.id, e.project));
  const projects = [...new Set([...shown.map((s) => s.project), ...plain.map((e) => e.project)])].sort();
  return (
    <main>
      <h1>Projects</h1>
      <input type="search" aria-label="search studies and experiments" placeholder="search studies, experiments, projects" data-testid="home-search" value={q}
        onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
      {projects.length === 0 && <p class="muted">no studies or experiments{q ? ' match' : ' yet'}</p>}
      {projects.map((p) => (
        <section class="card wide" key={p}><h2>{p}</h2>
          <table class="list">
            <thead><tr><th>name</th><th>kind</th><th>state</th><th>progress</th><th>best</th><th>last activity</th></tr></thead>
            <tbody>
              {shown.filter((s) => s.project === p).map((s) => {
                const done = s.counts.completed + s.counts.failed + s.counts.pruned + s.counts.cancelled;
                return (
                  <tr key={s.id} data-testid="study-row">
                    <td><a href={`/studies/${s.id}`}>{s.name}</a> <span class="muted">{s.id}</span></td><td>study</td>
                    <td><StateBadge state={s.state} /></td><td><Progress done={done} total={s.maxTrials} /></td>
                    <td>{s.best ? `${s.best.value} (#${s.best.number})` : ''}</td><td>{ago(s.finishedAt ?? s.createdAt)}</td>
                  </tr>
                );
              })}
              {plain.filter((e) => e.project === p).map((e) => (
                <tr key={e.id}><td><a href={`/experiments/${e.id}`}>{e.name}</a> <span class="muted">{e.id}</span></td><td>experiment</td>
                  <td>{e.lifecycleStage ?? e.state ?? ''}</td><td>{e.runCount ?? ''}</td><td /><td>{ago(e.lastUpdateTime ?? e.creationTime ?? null)}</td></tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </main>
  );
}
