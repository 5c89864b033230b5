/**
 * The container runtime hands a trial nothing of the agent's: the only mount is the trial's
 * checkpoint folder, and the environment is the spec's and Tunehive's variables, never the
 * agent's own (its REDIS_URL and tokens live in the agent's environment and files).
 */
import { describe, expect, it } from 'vitest';
import { buildCreateBody } from '../../worker/runtime/docker/create-body.js';

describe('container create body', () => {
  it('mounts only the checkpoint folder and passes no agent variable', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { REDIS_URL: 'redis://tunehive-worker:pw@redis:6379', TUNEHIVE_JOIN_TOKEN: 'thj_x', TUNEHIVE_TOKEN: 't' });
    try {
      const body = buildCreateBody({
        trialId: 's.0', argv: ['python3', 'train.py'], env: { TUNEHIVE_TRIAL_ID: 's.0', PYTHONUNBUFFERED: '1' },
        checkpointDir: '/var/lib/tunehive/trials/s.0/checkpoint', gpus: [], image: 'trainer:1',
      }, { checkpointMount: 'same-path' });
      expect(body.HostConfig.Mounts).toEqual([{ Type: 'bind', Source: '/var/lib/tunehive/trials/s.0/checkpoint', Target: '/var/lib/tunehive/trials/s.0/checkpoint', ReadOnly: false }]);
      expect(body.Env.map((e) => e.split('=')[0]).sort()).toEqual(['NVIDIA_VISIBLE_DEVICES', 'PYTHONUNBUFFERED', 'TUNEHIVE_CHECKPOINT_DIR', 'TUNEHIVE_TRIAL_ID']);
      expect(JSON.stringify(body)).not.toMatch(/redis:\/\/|thj_|REDIS_URL/);
    } finally {
      process.env = saved;
    }
  });
});
