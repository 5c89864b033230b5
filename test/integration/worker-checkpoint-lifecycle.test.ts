/**
 * What the worker keeps on its disk and uploads at exit, with real trial programs and a
 * scripted coordinator over real gRPC: no exit upload after a plain exit 0 (unless the attempt
 * has a budget, so a PAUSE can resume it), the local copy removed once the finish is
 * acknowledged, and orphan trial folders swept when an agent starts.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrialRun } from '../../shared/trial-job.js';
import { Agent } from '../../worker/agent.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import { runTrialSession, type SessionOptions } from '../../worker/trial-session.js';
import { quietLog, redisUrl, TEST_JOIN_TOKEN, uniquePrefix } from '../helpers/env.js';
import { serve, useScriptedCoordinator } from '../helpers/scripted-coordinator.js';

/** A program that saves a checkpoint file (without announcing it) and exits with `code`. */
const saver = (code: number) => `require('node:fs').writeFileSync(require('node:path').join(process.env.TUNEHIVE_CHECKPOINT_DIR, 'w.bin'), 'weights'); console.log('loss=1'); process.exit(${code})`;
const job = (trialId: string, program: string): TrialRun => ({ studyId: 's', trialId, number: 0, params: {}, command: [process.execPath, '-e', program], env: {}, gpus: 0 });

describe('worker checkpoint lifecycle', () => {
  const fx = useScriptedCoordinator();
  const run = async (trialId: string, program: string, limits?: TrialRun['limits']) => {
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-cl-'));
    const o: SessionOptions = { client: fx.client, runtime: new ProcessRuntime(), workerId: 'w', workDir, log: quietLog(), heartbeatMs: 500, graceMs: 1000 };
    const r = await runTrialSession(serve({ ...job(trialId, program), ...(limits ? { limits } : {}) }), [], o, new AbortController().signal);
    return { ...r, localCopy: existsSync(path.join(workDir, 'trials', trialId)) };
  };

  it('a plain exit 0 uploads nothing and leaves no local copy once the finish is acknowledged', async () => {
    const r = await run('done.0', saver(0));
    expect(r.state).toBe('COMPLETED');
    expect(fx.coord.uploads).toHaveLength(0);
    expect(r.localCopy).toBe(false);
  });

  it('an exit 0 of an attempt with a budget uploads its folder (a PAUSE may follow)', async () => {
    fx.coord.script = {
      onMessage: (s, m) => (m.started ? (s.send({ startReply: { action: 'ACTION_RUN', attempt: 1, reason: '', budget: 3 } }), true) : false),
    };
    const r = await run('rung.0', saver(0));
    expect(r.state).toBe('COMPLETED');
    expect(fx.coord.uploads).toHaveLength(1);
    expect(fx.coord.uploads[0]!.files.get('w.bin')?.toString()).toBe('weights');
    expect(r.localCopy).toBe(false);
  });

  it('a failed exit still uploads the folder once', async () => {
    const r = await run('fail.0', saver(3));
    expect(r.state).toBe('FAILED');
    expect(fx.coord.uploads).toHaveLength(1);
  });

  it("the job's checkpoint quota is enforced before uploading", async () => {
    const r = await run('quota.0', saver(3), { maxCheckpointBytes: 3 });
    expect(r.state).toBe('FAILED');
    expect(fx.coord.uploads).toHaveLength(0);
  });

  it('an agent sweeps trial folders left by an earlier run when it starts', async () => {
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-sweep-'));
    const orphan = path.join(workDir, 'trials', 'gone.7', 'checkpoint');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(path.join(orphan, 'w.bin'), Buffer.alloc(1024));
    const agent = new Agent({ redisUrl: redisUrl(), prefix: uniquePrefix('sweep'), coordinator: fx.coord.address, slots: 1, workDir, log: quietLog(), gpus: { kind: 'none' }, joinToken: TEST_JOIN_TOKEN });
    try {
      await agent.start();
      expect(existsSync(path.join(workDir, 'trials', 'gone.7'))).toBe(false);
    } finally {
      await agent.close();
    }
  });
});
