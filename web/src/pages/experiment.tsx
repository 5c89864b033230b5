/** A plain experiment's runs (search API), filtered with the same grammar on the server. */
import { useEffect, useState } from 'preact/hooks';
import { enc, get } from '../api.js';
import { FilterBox } from '../components/filter-box.js';
import { ago, StateBadge } from '../components/bits.js';

export function ExperimentPage(p: { id: string }) {
  const [exp, setExp] = useState<any>();
  const [runs, setRuns] = useState<any[]>([]);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string>();
  useEffect(() => { get(`/api/v1/experiments/${enc(p.id)}`).then(setExp, (e) => setError(String(e.message))); }, [p.id]);
  useEffect(() => {
    get<any>(`/api/v1/runs?experiment=${enc(p.id)}&pageSize=500${filter ? `&filter=${enc(filter)}` : ''}`).then((r) => setRuns(r.runs ?? []), (e) => setError(String(e.message)));
  }, [p.id, filter]);
  if (error) return <main><p class="error" role="alert">{error}</p></main>;
  return (
    <main><h1>{exp?.name ?? p.id}</h1>
      <FilterBox onFilter={(_f, text) => setFilter(text)} />
      <table class="list"><thead><tr><th>run</th><th>state</th><th>started</th><th>params</th></tr></thead>
        <tbody>{runs.map((r) => <tr key={r.id}><td><a href={`/runs/${r.id}`}>{r.name || r.id}</a></td><td><StateBadge state={r.state} /></td><td>{ago(r.startTime)}</td>
          <td class="mono">{Object.entries(r.params ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}</td></tr>)}</tbody></table>
    </main>
  );
}
