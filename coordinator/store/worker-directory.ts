/** The fleet as the agents registered it (see worker/registration.ts): read side. */
import { type RedisClient, spreadPipeline, slotMulti } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';

export interface RegisteredWorker {
  id: string;
  updatedAt: number;
  info: { hardware?: { gpus?: unknown[]; nodeName?: string; hostname?: string }; slots?: number; gpus?: number; freeGpus?: number; freeSlots?: number; running?: number; runtime?: string; state?: string };
}

export class WorkerDirectory {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  /** Live agents; ids whose registration expired are dropped from the index on the way. */
  async list(): Promise<RegisteredWorker[]> {
    const ids = await this.redis.smembers(keys.workers(this.prefix));
    if (ids.length === 0) return [];
    const pipe = spreadPipeline(this.redis);
    for (const id of ids) pipe.hgetall(keys.worker(this.prefix, id));
    const rows = (await pipe.exec()) ?? [];
    const out: RegisteredWorker[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const h = rows[i]?.[1] as Record<string, string> | undefined;
      if (!h?.info) gone.push(id);
      else out.push({ id, updatedAt: Number(h.updatedAt), info: JSON.parse(h.info) as RegisteredWorker['info'] });
    });
    if (gone.length) await this.redis.srem(keys.workers(this.prefix), ...gone);
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Drops a worker from the fleet listing (a revoked one); true when it was registered. */
  async forget(id: string): Promise<boolean> {
    const [[, removed], [, member]] = (await slotMulti(this.redis).del(keys.worker(this.prefix, id)).srem(keys.workers(this.prefix), id).exec()) as [[null, number], [null, number]];
    return removed + member > 0;
  }
}
