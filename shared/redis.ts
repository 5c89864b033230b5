import { Cluster, Redis, type ChainableCommander, type RedisOptions } from 'ioredis';

/**
 * One Redis server or a Redis Cluster: both have every command method, `pipeline`, `multi`,
 * `defineCommand`, `duplicate` and pub/sub; what differs (a pipeline or MULTI must stay on one
 * node / one slot, SCAN sees one node) is handled by the helpers below.
 */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  /**
   * Fails a command that has no reply after this long (queued while disconnected included).
   * Only for connections that never run blocking commands: BullMQ's workers block for seconds
   * by design, so their connections must not have it.
   */
  commandTimeoutMs?: number;
}

/** The URL form of a Redis Cluster: `redis-cluster://[user:pass@]host:port,host:port,...`. */
export const CLUSTER_URL = /^redis-cluster:\/\//;

export interface ClusterAddress { nodes: Array<{ host: string; port: number }>; username?: string; password?: string }

/**
 * Parses `redis-cluster://[user[:password]@]host:port[,host:port...]` (user and password
 * percent-encoded; any one reachable node is enough, the rest are found from it). A separate
 * scheme rather than a query flag: a cluster URL lists several nodes, which a redis:// URL cannot.
 */
export function parseClusterUrl(url: string): ClusterAddress {
  const m = /^redis-cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@?#]+)\/?$/.exec(url);
  if (!m) throw new Error(`not a Redis Cluster URL (redis-cluster://[user:pass@]host:port,host:port): ${redactUrl(url)}`);
  const nodes = m[3]!.split(',').map((hp) => {
    const n = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(hp.trim());
    if (!n || Number(n[2]) < 1 || Number(n[2]) > 65535) throw new Error(`Redis Cluster URL: "${hp.slice(0, 100)}" is not host:port`);
    return { host: n[1]!, port: Number(n[2]) };
  });
  if (nodes.length > 64) throw new Error('Redis Cluster URL: more than 64 nodes');
  return { nodes, ...(m[1] ? { username: decodeURIComponent(m[1]) } : {}), ...(m[2] !== undefined ? { password: decodeURIComponent(m[2]) } : {}) };
}

/**
 * A Redis connection with the options BullMQ requires (no per-request retry limit: a blocked
 * worker command must wait through a Redis restart rather than fail) and endless reconnects.
 * A `redis-cluster://` URL gives a Cluster client, with these options (and the password) on
 * every node's connection.
 */
export function connectRedis(url: string, name: string, o: ConnectOptions = {}): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    ...(o.commandTimeoutMs ? { commandTimeout: o.commandTimeoutMs } : {}),
  };
  let redis: RedisClient;
  if (CLUSTER_URL.test(url)) {
    const a = parseClusterUrl(url);
    redis = new Cluster(a.nodes, {
      redisOptions: { ...options, ...(a.username ? { username: a.username } : {}), ...(a.password !== undefined ? { password: a.password } : {}) },
      clusterRetryStrategy: options.retryStrategy!,
      // No auto-pipelining: it routes a command by its first argument, which for a script with a
      // variable number of keys is the key count, not a key.
    });
  } else {
    redis = new Redis(url, options);
  }
  // Connection errors also fail the commands in flight, and those are logged where they are
  // used; without a listener ioredis would print every reconnect attempt to stderr.
  redis.on('error', () => undefined);
  return redis;
}

/** A second connection with the same options (pub/sub needs one of its own). */
export function duplicateClient(redis: RedisClient): RedisClient {
  const copy = redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
  copy.on('error', () => undefined);
  return copy;
}

/** The servers that hold keys: the masters of a Cluster, or the one server. */
export function dataNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** Every key matching a glob pattern, on every master (SCAN, never KEYS; bounded by `limit`). */
export async function scanKeys(redis: RedisClient, pattern: string, limit = 1_000_000): Promise<string[]> {
  const out: string[] = [];
  for (const node of dataNodes(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      out.push(...batch);
      if (out.length > limit) throw new Error(`scanKeys: more than ${limit} keys match ${pattern}`);
      cursor = next;
    } while (cursor !== '0');
  }
  return out;
}

/**
 * A pipeline whose commands may name keys of any slots. On one server it is a pipeline. On a
 * Cluster (where a pipeline must stay on one node) each command is sent on its own, all at once
 * (written without waiting for replies, so still about one round trip per node); `exec`
 * answers in the same shape and order.
 */
export function spreadPipeline(redis: RedisClient): ChainableCommander {
  return redis instanceof Cluster ? recorder(redis, 'spread') : redis.pipeline();
}

/**
 * A MULTI whose commands may name keys of several slots. On one server it is one MULTI. On a
 * Cluster (where a transaction must stay in one slot) the commands are grouped by hash tag and
 * each group is its own MULTI, run one after the other in the order of each group's first
 * command: each group is atomic, the groups are not, so callers list the write whose loss a
 * reader tolerates last (a study's record before the global indexes that point at it).
 */
export function slotMulti(redis: RedisClient): ChainableCommander {
  return redis instanceof Cluster ? recorder(redis, 'per-slot') : redis.multi();
}

type Recorded = { name: string; args: unknown[] };

function recorder(cluster: Cluster, mode: 'spread' | 'per-slot'): ChainableCommander {
  const commands: Recorded[] = [];
  const exec = async (): Promise<Array<[Error | null, unknown]>> => {
    if (mode === 'spread') {
      const send = cluster as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return Promise.all(commands.map(({ name, args }) => send[name]!(...args).then((v) => [null, v] as [null, unknown], (e: Error) => [e, null] as [Error, null])));
    }
    const groups = new Map<string, number[]>();
    commands.forEach((c, i) => {
      const tag = hashTagOf(c);
      const g = groups.get(tag);
      if (g) g.push(i);
      else groups.set(tag, [i]);
    });
    const out: Array<[Error | null, unknown]> = new Array(commands.length);
    for (const indexes of groups.values()) {
      const m = cluster.multi() as unknown as Record<string, (...a: unknown[]) => unknown> & { exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const i of indexes) m[commands[i]!.name]!(...commands[i]!.args);
      const rows = await m.exec();
      if (rows === null) throw new Error('a transaction was aborted');
      indexes.forEach((i, j) => { out[i] = rows[j]!; });
    }
    return out;
  };
  const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_t, prop) {
      if (prop === 'exec') return exec;
      if (prop === 'length') return commands.length;
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      return (...args: unknown[]) => {
        commands.push({ name: prop, args });
        return proxy;
      };
    },
  });
  return proxy;
}

/**
 * What a command's key hashes by (Redis Cluster's rule: the part inside the first `{...}` when
 * it is not empty, else the whole key). Keys with one tag share a slot; two tags may share one
 * too, which only costs an extra MULTI. Only the first argument is read: slotMulti is for
 * single-key commands (HSET, ZADD, SREM...), and a multi-key one must name keys of one tag.
 */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

function hashTagOf(c: Recorded): string {
  const key = c.args[0];
  if (typeof key !== 'string') throw new Error(`slotMulti: ${c.name} needs a key as its first argument`);
  return hashTag(key);
}

/** True when a Redis URL carries a password (or a user name, which ACL logins pair with one). */
export function urlHasCredentials(url: string): boolean {
  if (CLUSTER_URL.test(url)) {
    try {
      const a = parseClusterUrl(url);
      return a.password !== undefined || a.username !== undefined;
    } catch {
      return /\/\/[^/@]*@/.test(url);
    }
  }
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
