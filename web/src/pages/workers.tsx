/** The fleet: each worker's hardware, GPUs, free slots and what it runs now. */
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { ago } from '../components/bits.js';

export function WorkersPage() {
  const [workers, setWorkers] = useState<any[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try { const r = await get<any>('/api/v1/workers'); if (!stop) setWorkers(r.workers); } catch (e) { if (!stop) setError((e as Error).message); }
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
          const running: string[] = Array.isArray(i.running) ? i.running : Array.isArray(i.trials) ? i.trials : [];
          const slots = Number(i.slots ?? 0), free = i.freeSlots ?? i.free ?? (slots ? slots - running.length : '');
          const gpus = Array.isArray(i.gpus) ? i.gpus.map((g: any) => (typeof g === 'object' ? g.name ?? g.uuid ?? JSON.stringify(g) : String(g))).join(', ') : i.gpus ?? 'none';
          return (
            <tr key={w.id}><td>{w.id}</td><td>{String(i.state ?? '')}</td><td>{String(free)} / {slots}</td><td>{String(gpus) || 'none'}</td>
              <td>{[i.hostname, i.cpus ? `${i.cpus} CPUs` : '', i.memoryBytes ? `${Math.round(i.memoryBytes / 2 ** 30)} GiB` : ''].filter(Boolean).join(' · ')}</td>
              <td>{running.map((r) => <a key={r} href={`/runs/${r}`}>{r} </a>)}</td><td>{ago(w.updatedAt)}</td></tr>
          );
        })}</tbody></table>
    </main>
  );
}
