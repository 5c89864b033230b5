/**
 * Redis as INFO reports it: commands served (commandstats: every command's calls, summed: what
 * all clients sent, a pipeline's commands one by one, and the calls Lua scripts make inside
 * Redis too: Redis counts those in commandstats alike), memory and CPU.
 * Deltas of two snapshots give a run's cost; the harness's own few reads are included.
 */
import type { Redis, Cluster } from 'ioredis';

export interface RedisSnapshot {
  at: number;
  calls: number;
  /** Calls per command name (`evalsha`, `hget`, ...). */
  byCommand: Map<string, number>;
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

/** Calls of every command of `INFO commandstats` (`cmdstat_get:calls=12,usec=...`). */
export function commandCalls(info: Map<string, string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const [k, v] of info) if (k.startsWith('cmdstat_')) m.set(k.slice('cmdstat_'.length), Number(/calls=(\d+)/.exec(v)?.[1] ?? 0));
  return m;
}

export const totalCalls = (info: Map<string, string>): number => [...commandCalls(info).values()].reduce((a, b) => a + b, 0);

/** The commands that grew most between two snapshots, per `per` (a trial): "evalsha 12.0, hget 8.1, ...". */
export function topCommands(a: RedisSnapshot, b: RedisSnapshot, per: number, n = 8): string {
  const d = [...b.byCommand].map(([k, v]) => [k, v - (a.byCommand.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]);
  return d.slice(0, n).map(([k, v]) => `${k} ${(v / per).toFixed(1)}`).join(', ');
}

async function nodeSnapshot(r: Redis): Promise<Omit<RedisSnapshot, 'at'>> {
  const info = parseInfo(String(await r.info('all')));
  const byCommand = commandCalls(info);
  return {
    calls: [...byCommand.values()].reduce((a, b) => a + b, 0), byCommand,
    usedMemory: Number(info.get('used_memory') ?? 0),
    usedMemoryRss: Number(info.get('used_memory_rss') ?? 0),
    cpuSeconds: Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0),
  };
}

/** One snapshot, summed over the masters of a cluster. */
export async function redisSnapshot(r: Redis | Cluster): Promise<RedisSnapshot> {
  const nodes: Redis[] = 'nodes' in r && typeof (r as Cluster).nodes === 'function' && (r as Cluster).isCluster ? (r as Cluster).nodes('master') : [r as Redis];
  const parts = await Promise.all(nodes.map(nodeSnapshot));
  const sum = (k: 'calls' | 'usedMemory' | 'usedMemoryRss' | 'cpuSeconds') => parts.reduce((a, p) => a + p[k], 0);
  const byCommand = new Map<string, number>();
  for (const p of parts) for (const [k, v] of p.byCommand) byCommand.set(k, (byCommand.get(k) ?? 0) + v);
  return { at: Date.now(), calls: sum('calls'), byCommand, usedMemory: sum('usedMemory'), usedMemoryRss: sum('usedMemoryRss'), cpuSeconds: sum('cpuSeconds') };
}

export const redisCpuPercent = (a: RedisSnapshot, b: RedisSnapshot): number => (b.at > a.at ? (100 * (b.cpuSeconds - a.cpuSeconds) * 1000) / (b.at - a.at) : 0);
