/**
 * The Redis ACL users of one Tunehive deployment (one key prefix): the coordinator's, with every
 * key of the prefix, and the worker's, with only the queue (BullMQ) and the worker registration.
 * A trial program that steals a worker's Redis credential can then disturb queues, but cannot
 * read or rewrite a study. Used by the local stack (cli/local-redis.ts), by `tunehive redis-acl`
 * (deploy) and by the tests, so the rules that are tested are the rules that are shipped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseClusterUrl } from './redis.js';
import { queuePrefix } from './trial-job.js';

export const COORDINATOR_USER = 'tunehive-coordinator';
export const WORKER_USER = 'tunehive-worker';

/** A key prefix as a literal inside a Redis glob pattern. */
const glob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** ACL rules (ACL SETUSER arguments after the user name, password excluded). */
export function coordinatorAclRules(prefix: string): string[] {
  const p = glob(prefix);
  // Every key and channel of the prefix; every command but the server-wide dangerous ones
  // (FLUSHALL, KEYS, CONFIG, ACL, DEBUG, MONITOR, SHUTDOWN...). INFO is what BullMQ's version
  // check reads.
  return ['resetkeys', `~${p}:*`, 'resetchannels', `&${p}:*`, '-@all', '+@all', '-@dangerous', '+info'];
}

export function workerAclRules(prefix: string): string[] {
  const p = glob(prefix);
  const q = glob(queuePrefix(prefix));
  return [
    'resetkeys', `~${q}:*`, `~${p}:worker:*`, `~${p}:workers`,
    // BullMQ publishes nothing a worker listens to; no channel at all.
    'resetchannels',
    // What BullMQ's Lua scripts and its connections use, on the keys above only.
    '-@all', '+@read', '+@write', '+@keyspace', '+@scripting', '+@transaction', '+@connection',
    '-@dangerous', '-@admin', '+info',
    // Key names of other studies (SCAN, RANDOMKEY) and server-wide script state stay out of reach.
    '-scan', '-randomkey', '-script|flush', '-script|kill', '-function', '-fcall', '-fcall_ro',
    // A Redis Cluster client reads the slot map and the cluster's state (no key names in either).
    '+cluster|slots', '+cluster|info',
  ];
}

export interface AclUser { name: string; password: string; rules: string[] }

export const randomPassword = () => randomBytes(24).toString('hex');

export function deploymentUsers(prefix: string): { coordinator: AclUser; worker: AclUser } {
  return {
    coordinator: { name: COORDINATOR_USER, password: randomPassword(), rules: coordinatorAclRules(prefix) },
    worker: { name: WORKER_USER, password: randomPassword(), rules: workerAclRules(prefix) },
  };
}

/**
 * One line of a redis.conf or ACL file. `hashed`: the password as its SHA-256 (`#hex`), so the
 * file Redis reads (a Kubernetes Secret, a compose secret) holds no password a reader could use.
 */
export function aclLine(u: AclUser, o: { hashed?: boolean } = {}): string {
  const pass = o.hashed ? `#${createHash('sha256').update(u.password).digest('hex')}` : `>${u.password}`;
  return ['user', u.name, 'reset', 'on', pass, ...u.rules].join(' ');
}

/**
 * The default user of a deployed Redis: it may PING (health checks, `redis-cli ping`) and
 * nothing else: no key, no channel, no other command. Every real client logs in as a user.
 */
export const DEFAULT_USER_PING_ONLY = 'user default reset on nopass resetkeys resetchannels -@all +ping';

/**
 * The ACL file of a deployment and its two URLs (`tunehive redis-acl`). With `clusterNodes`
 * (`host:port,host:port,...`) the URLs are `redis-cluster://` URLs of those nodes, and the same
 * file is loaded on every node.
 */
export function deploymentAclFile(prefix: string, host: string, port: number, o: { clusterNodes?: string } = {}): { aclFile: string; coordinatorUrl: string; workerUrl: string } {
  const users = deploymentUsers(prefix);
  const url = (u: AclUser) => (o.clusterNodes !== undefined ? clusterUserUrl(o.clusterNodes, u) : userUrl(host, port, u));
  return {
    aclFile: `${[DEFAULT_USER_PING_ONLY, aclLine(users.coordinator, { hashed: true }), aclLine(users.worker, { hashed: true })].join('\n')}\n`,
    coordinatorUrl: url(users.coordinator),
    workerUrl: url(users.worker),
  };
}

/** A redis-cluster:// URL for a user; `nodes` is `host:port,host:port,...` (checked: a bad list is an error). */
export function clusterUserUrl(nodes: string, u: Pick<AclUser, 'name' | 'password'>): string {
  const url = `redis-cluster://${encodeURIComponent(u.name)}:${encodeURIComponent(u.password)}@${nodes}`;
  parseClusterUrl(url);
  return url;
}

/** A redis:// URL for a user (passwords here are hex, so nothing needs escaping). */
export function userUrl(host: string, port: number, u: Pick<AclUser, 'name' | 'password'>): string {
  return `redis://${encodeURIComponent(u.name)}:${encodeURIComponent(u.password)}@${host}:${port}`;
}
