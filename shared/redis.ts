import { Redis } from 'ioredis';

/**
 * A Redis connection with the options BullMQ requires (no per-request retry limit: a blocked
 * worker command must wait through a Redis restart rather than fail) and endless reconnects.
 */
export function connectRedis(url: string, name: string): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  });
  // Connection errors also fail the commands in flight, and those are logged where they are
  // used; without a listener ioredis would print every reconnect attempt to stderr.
  redis.on('error', () => undefined);
  return redis;
}
