/**
 * Redis as INFO reports it: commands served (commandstats: every command's calls, summed: the
 * round trips all clients made, a pipeline's commands counted one by one), memory and CPU.
 * Deltas of two snapshots give a run's cost; the harness's own few reads are included.
 */
import type { Redis, Cluster } from 'ioredis';

export interface RedisSnapshot {
  at: number;
  calls: number;
  usedMemory: number;
  usedMemoryRss: number;
  cpuSeconds: number;
}

export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** Total calls over every command of `INFO commandstats` (`cmdstat_get:calls=12,usec=...`). */
export function totalCalls(info: Map<string, string>): number {
  let n = 0;
  for (const [k, v] of info) if (k.startsWith('cmdstat_')) n += Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
  return n;
}

async function nodeSnapshot(r: Redis): Promise<Omit<RedisSnapshot, 'at'>> {
  const info = parseInfo(String(await r.info('all')));
  return {
    calls: totalCalls(info),
    usedMemory: Number(info.get('used_memory') ?? 0),
    usedMemoryRss: Number(info.get('used_memory_rss') ?? 0),
    cpuSeconds: Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0),
  };
}

/** One snapshot, summed over the masters of a cluster. */
export async function redisSnapshot(r: Redis | Cluster): Promise<RedisSnapshot> {
  const nodes: Redis[] = 'nodes' in r && typeof (r as Cluster).nodes === 'function' && (r as Cluster).isCluster ? (r as Cluster).nodes('master') : [r as Redis];
  const parts = await Promise.all(nodes.map(nodeSnapshot));
  const sum = (k: keyof Omit<RedisSnapshot, 'at'>) => parts.reduce((a, p) => a + p[k], 0);
  return { at: Date.now(), calls: sum('calls'), usedMemory: sum('usedMemory'), usedMemoryRss: sum('usedMemoryRss'), cpuSeconds: sum('cpuSeconds') };
}

export const redisCpuPercent = (a: RedisSnapshot, b: RedisSnapshot): number => (b.at > a.at ? (100 * (b.cpuSeconds - a.cpuSeconds) * 1000) / (b.at - a.at) : 0);
