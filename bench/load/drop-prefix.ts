/**
 * Deletes every key a benchmark's own deployment left in a Redis it did not start (REDIS_URL):
 * the keys under its prefix, which has a random part per run, so nothing else matches. Every
 * master of a cluster is scanned; keys are unlinked one per call (a batch may span slots).
 */
import { connectRedis, dataNodes, type RedisClient } from '../../shared/redis.js';

export async function dropPrefix(redis: RedisClient | string, prefix: string): Promise<number> {
  if (!/[0-9a-f]{6}/.test(prefix)) throw new Error(`refusing to drop keys of a prefix without a random part: ${prefix}`);
  const client = typeof redis === 'string' ? connectRedis(redis, 'bench-drop-prefix', { commandTimeoutMs: 10_000 }) : redis;
  let dropped = 0;
  try {
    for (const node of dataNodes(client)) {
      let cursor = '0';
      do {
        // Anywhere in the name: Optuna's journal keys carry the prefix after their own.
        const [next, found] = await node.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        for (const k of found) dropped += await node.unlink(k);
      } while (cursor !== '0');
    }
  } finally {
    if (typeof redis === 'string') client.disconnect();
  }
  return dropped;
}
