import { Redis } from 'ioredis';

export interface ConnectOptions {
  /**
   * Fails a command that has no reply after this long (queued while disconnected included).
   * Only for connections that never run blocking commands: BullMQ's workers block for seconds
   * by design, so their connections must not have it.
   */
  commandTimeoutMs?: number;
}

/**
 * A Redis connection with the options BullMQ requires (no per-request retry limit: a blocked
 * worker command must wait through a Redis restart rather than fail) and endless reconnects.
 */
export function connectRedis(url: string, name: string, o: ConnectOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    ...(o.commandTimeoutMs ? { commandTimeout: o.commandTimeoutMs } : {}),
  });
  // Connection errors also fail the commands in flight, and those are logged where they are
  // used; without a listener ioredis would print every reconnect attempt to stderr.
  redis.on('error', () => undefined);
  return redis;
}

/** True when a Redis URL carries a password (or a user name, which ACL logins pair with one). */
export function urlHasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || u.username !== '';
  } catch {
    return /\/\/[^/@]*@/.test(url);
  }
}

/** The URL as it may be logged or shown: the password replaced. */
export function redactUrl(url: string): string {
  return url.replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1[redacted]@').replace(/(\w+:\/\/)([^:/@\s]+)@/g, '$1[redacted]@');
}
