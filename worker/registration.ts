/**
 * The agent's registration: a Redis hash describing it (hardware, free GPUs and slots) that
 * expires unless refreshed, so the coordinator knows the fleet (for /metrics, GET /workers and
 * rejecting trials no machine can fit) and forgets an agent that died without a word.
 */
import { type RedisClient, slotMulti } from '../shared/redis.js';
import { keys } from '../shared/redis-keys.js';

const REFRESH_MS = 5000;
const TTL_MS = 3 * REFRESH_MS;

export class WorkerRegistration {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;

  constructor(private readonly redis: RedisClient, private readonly prefix: string, private readonly id: string, private readonly describe: () => Record<string, unknown>) {}

  async start(): Promise<void> {
    await this.refresh().catch(() => undefined);
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), REFRESH_MS);
    this.timer.unref();
  }

  /** After a trial ends, so free-GPU counts are fresh without writing on every change. */
  refreshSoon(): void {
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      void this.refresh().catch(() => undefined);
    }, 200);
  }

  private async refresh(): Promise<void> {
    const key = keys.worker(this.prefix, this.id);
    await slotMulti(this.redis)
      .hset(key, { id: this.id, info: JSON.stringify(this.describe()), updatedAt: Date.now() })
      .pexpire(key, TTL_MS)
      .sadd(keys.workers(this.prefix), this.id)
      .exec();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await slotMulti(this.redis).del(keys.worker(this.prefix, this.id)).srem(keys.workers(this.prefix), this.id).exec().catch(() => undefined);
  }
}
