/**
 * Deletes every key a benchmark's own deployment left in a Redis it did not start (REDIS_URL):
 * the keys named with its prefix, which is random per run, so nothing else matches.
 */
import { Redis } from 'ioredis';

export async function dropPrefix(redisUrl: string, prefix: string): Promise<number> {
  if (!/[0-9a-f]{6}/.test(prefix)) throw new Error(`refusing to drop keys of a prefix without a random part: ${prefix}`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  let dropped = 0;
  try {
    // Anywhere in the name: BullMQ and the hash-tagged store keys wrap the prefix in braces.
    for await (const batch of redis.scanStream({ match: `*${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
      if (batch.length === 0) continue;
      dropped += await redis.unlink(...batch);
    }
  } finally {
    redis.disconnect();
  }
  return dropped;
}
