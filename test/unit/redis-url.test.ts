/** The Redis URL forms (shared/redis.ts): one server, or a Redis Cluster by its nodes. */
import { describe, expect, it } from 'vitest';
import { hashTag, parseClusterUrl, redactUrl, urlHasCredentials } from '../../shared/redis.js';
import { deploymentAclFile } from '../../shared/redis-acl.js';
import { keys } from '../../shared/redis-keys.js';
import { queuePrefix, trialQueueName } from '../../shared/trial-job.js';

describe('Redis Cluster URLs', () => {
  it('names every node, and the user and password of all of them', () => {
    expect(parseClusterUrl('redis-cluster://tunehive-worker:p%40ss@10.0.0.1:7000,redis-b:7001')).toEqual({
      nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7001 }], username: 'tunehive-worker', password: 'p@ss',
    });
    expect(parseClusterUrl('redis-cluster://:secret@h:6379/')).toEqual({ nodes: [{ host: 'h', port: 6379 }], password: 'secret' });
    expect(parseClusterUrl('redis-cluster://h:6379')).toEqual({ nodes: [{ host: 'h', port: 6379 }] });
  });

  it('refuses what is not a list of host:port, without echoing the password', () => {
    expect(() => parseClusterUrl('redis-cluster://u:hunter2@h')).toThrow(/"h" is not host:port/);
    expect(() => parseClusterUrl('redis-cluster://h:1,h:99999')).toThrow(/"h:99999" is not host:port/);
    expect(() => parseClusterUrl('redis-cluster://u:hunter2@')).toThrow(/not a Redis Cluster URL/);
    let message = '';
    try {
      parseClusterUrl('redis-cluster://u:hunter2@/x?y');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^not a Redis Cluster URL/);
    expect(message).not.toContain('hunter2');
  });

  it('counts as carrying credentials, and is redacted like any other', () => {
    expect(urlHasCredentials('redis-cluster://u:p@h:1,h:2')).toBe(true);
    expect(urlHasCredentials('redis-cluster://h:1,h:2')).toBe(false);
    expect(redactUrl('redis-cluster://u:p@h:1,h:2')).toBe('redis-cluster://u:[redacted]@h:1,h:2');
  });
});

describe('`tunehive redis-acl --cluster`', () => {
  it('writes cluster URLs of the nodes for both users, and refuses a bad node list', () => {
    const acl = deploymentAclFile('th', 'unused', 6379, { clusterNodes: 'r1:7000,r2:7001' });
    expect(parseClusterUrl(acl.coordinatorUrl)).toMatchObject({ username: 'tunehive-coordinator', nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }] });
    expect(parseClusterUrl(acl.workerUrl).username).toBe('tunehive-worker');
    expect(acl.aclFile).toMatch(/^user tunehive-worker reset on #[0-9a-f]{64} /m);
    expect(() => deploymentAclFile('th', 'unused', 6379, { clusterNodes: 'r1' })).toThrow(/"r1" is not host:port/);
  });
});

describe('hash tags', () => {
  it('follow Redis Cluster\'s rule: the first non-empty {...}', () => {
    expect(hashTag('th:{abc}:study')).toBe('abc');
    expect(hashTag('th:{}:x{y}')).toBe('th:{}:x{y}');
    expect(hashTag('th:studies')).toBe('th:studies');
  });

  it('keep a study, a queue and the job lock the coordinator reads each in one slot', () => {
    expect(hashTag(keys.trial('th', 's1', 3))).toBe(hashTag(keys.study('th', 's1')));
    const q = `${queuePrefix('th')}:${trialQueueName('ml', 1)}`;
    expect(hashTag(`${q}:wait`)).toBe('trials-ml-g1');
    expect(hashTag(keys.jobLock(queuePrefix('th'), trialQueueName('ml', 1), 's1.3-r1'))).toBe('trials-ml-g1');
    expect(hashTag(`${queuePrefix('th')}:${trialQueueName('ml', 0)}:wait`)).not.toBe('trials-ml-g1');
  });
});
