/** The fleet: each worker's hardware, GPUs, free slots and what it runs now. */
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { ago } from '../components/bits.js';

export function WorkersPage() {
  const [workers, setWorkers] = useState<any[]>();
  const [running, setRunning] = useState<Map<string, string[]>>(new Map());
  const [error, setError] = useState<string>();
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const r = await get<any>('/api/v1/workers');
        if (!stop) setWorkers(r.workers);
        if (!stop) setRunning(await runningByWorker());
      } catch (e) { if (!stop) setError((e as Error).message); }
      if (!stop) timer = setTimeout(() => void load(), 3000);
    };
    void load();
    return () => { stop = true; if (timer) clearTimeout(timer); };
  }, []);
  if (error) return <main><p class="error" role="alert">{error}</p></main>;
  if (!workers) return <main><p class="muted">loading…</p></main>;
  return (
    <main><h1>Workers</h1>
      <table class="list" data-testid="workers"><thead><tr><th>worker</th><th>state</th><th>slots (free / all)</th><th>GPUs</th><th>hardware</th><th>running</th><th>seen</th></tr></thead>
        <tbody>{workers.map((w) => {
          const i = w.info ?? {};
          const trials = running.get(w.id) ?? [];
          const slots = Number(i.slots ?? 0), free = i.freeSlots ?? (slots ? slots - Number(i.running ?? 0) : '');
          const hw = i.hardware ?? {};
          const names = Array.isArray(hw.gpus) ? hw.gpus.map((g: any) => (typeof g === 'object' ? g.name ?? g.model ?? g.uuid ?? '' : String(g))).filter(Boolean) : [];
          const gpus = i.gpus ? `${i.freeGpus ?? '?'} free of ${i.gpus}${names.length ? ` (${[...new Set(names)].join(', ')})` : ''}` : 'none';
          return (
            <tr key={w.id}><td>{w.id}</td><td>{String(i.state ?? '')}</td><td>{String(free)} / {slots}</td><td>{String(gpus) || 'none'}</td>
              <td>{[hw.hostname, hw.nodeName, i.runtime].filter(Boolean).join(' · ')}</td>
              <td>{Number(i.running ?? trials.length)} {trials.map((r) => <a key={r} href={`/runs/${r}`}>{r} </a>)}</td><td>{ago(w.updatedAt)}</td></tr>
          );
        })}</tbody></table>
    </main>
  );
}

/** Which trials each worker runs now: the running trials of the running studies (at most 20 studies). */
async function runningByWorker(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const studies = (await get<any>('/api/v1/studies?limit=100')).studies.filter((s: any) => s.state === 'RUNNING').slice(0, 20);
  const pages = await Promise.all(studies.map((s: any) => get<any>(`/api/v1/studies/${s.id}/trials?state=RUNNING&limit=1000`).catch(() => ({ trials: [] }))));
  for (const p of pages) for (const t of p.trials) if (t.workerId) out.set(t.workerId, [...(out.get(t.workerId) ?? []), t.id]);
  return out;
}
