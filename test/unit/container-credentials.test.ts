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

  it('mounts the artifact folder too, where the program is told it is (fixed mounts: /tunehive/artifacts)', () => {
    const spec = {
      trialId: 's.0', argv: ['python3', 'train.py', '--out', '/w/trials/s.0/artifacts/model.pt'], env: { TUNEHIVE_ARTIFACT_DIR: '/w/trials/s.0/artifacts' },
      checkpointDir: '/w/trials/s.0/checkpoint', artifactDir: '/w/trials/s.0/artifacts', gpus: [], image: 'trainer:1',
    };
    const fixed = buildCreateBody(spec, { checkpointMount: 'fixed' });
    expect(fixed.HostConfig.Mounts).toContainEqual({ Type: 'bind', Source: '/w/trials/s.0/artifacts', Target: '/tunehive/artifacts', ReadOnly: false });
    expect(fixed.Env).toContain('TUNEHIVE_ARTIFACT_DIR=/tunehive/artifacts');
    expect(fixed.Cmd).toEqual(['python3', 'train.py', '--out', '/tunehive/artifacts/model.pt']);
    const same = buildCreateBody(spec, { checkpointMount: 'same-path' });
    expect(same.HostConfig.Mounts).toContainEqual({ Type: 'bind', Source: '/w/trials/s.0/artifacts', Target: '/w/trials/s.0/artifacts', ReadOnly: false });
    expect(same.Env).toContain('TUNEHIVE_ARTIFACT_DIR=/w/trials/s.0/artifacts');
  });
});
