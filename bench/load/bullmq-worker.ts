/**
 * The consumer half of the BullMQ ceiling (ceilings.ts), a process of its own as an agent is:
 * one BullMQ Worker of the given concurrency running no-op jobs. It tells its parent (IPC) when
 * it is ready and when it has seen `jobs` completions, with the time (ms, this machine's clock).
 * The Redis URL comes in the environment (it carries a password: never in argv).
 */
import { Worker } from 'bullmq';
import { connectRedis } from '../../shared/redis.js';

const [queue, prefix, concurrency, jobs] = process.argv.slice(2);
const url = process.env.LOAD_CEILING_REDIS_URL;
if (!queue || !prefix || !url || !(Number(concurrency) >= 1) || !(Number(jobs) >= 1)) {
  process.stderr.write('usage: bullmq-worker.ts QUEUE PREFIX CONCURRENCY JOBS (LOAD_CEILING_REDIS_URL in the environment)\n');
  process.exit(2);
}
const connection = connectRedis(url, 'tunehive-bench-ceiling-worker');
let done = 0;
const w = new Worker(queue, async () => null, { connection, prefix, concurrency: Number(concurrency) });
w.on('completed', () => {
  if (++done === Number(jobs)) process.send?.({ type: 'done', at: Date.now(), count: done });
});
await w.waitUntilReady();
process.send?.({ type: 'ready' });
process.on('message', (m: { type?: string }) => {
  if (m?.type !== 'stop') return;
  void w.close().finally(() => { connection.disconnect(); process.exit(0); });
});
// Never outlives a parent that died without a word.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), 300_000).unref();
