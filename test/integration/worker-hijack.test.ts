/**
 * Review 10: a rogue worker with a valid credential of its own and the worker's Redis user
 * (what a trial running as the agent's user steals from /proc/PPID/environ) sets the lock of a
 * running trial's queue job to a token it chose (the worker ACL allows it: BullMQ needs writes
 * on th:q:*), then sends a fresh Started with that "proof of delivery". Before the fix the
 * coordinator took it for a re-delivery after a lost worker: it opened attempt 2 on the rogue,
 * handed it the trial's template (its env), parameters and checkpoint, stopped the real program
 * and counted a retry — repeated, the trial FAILED. Injecting the job into another project's
 * queue makes that project's own workers do the same. A RUNNING attempt whose stream is open
 * here belongs to its worker: such a start is skipped, and the real trial completes unharmed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/redis-keys.js';
import { randomPassword, workerAclRules } from '../../shared/redis-acl.js';
import { queuePrefix, trialQueueName } from '../../shared/trial-job.js';
import { redisUrl, uniquePrefix, waitFor } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { ScriptedFleet } from '../helpers/scripted-worker.js';

const HOLDER = `const fs=require('fs');const rel=process.argv[1];let k=0;
const tick=()=>{k++;console.log('step='+k+' score='+k);if(fs.existsSync(rel)){console.log('released=1');setTimeout(()=>process.exit(0),50)}else setTimeout(tick,150)};tick();`;

describe('hijack of a running trial by a worker holding the worker Redis user', () => {
  const prefix = uniquePrefix('hijack');
  const workerUser = `tunehive-worker-${prefix}`;
  let admin: Redis;
  let queueWriter: Redis;
  let stack: TestStack;
  let fleet: ScriptedFleet;
  let trialId: string;
  let studyId: string;
  let release: string;
  beforeAll(async () => {
    admin = new Redis(redisUrl());
    const password = randomPassword();
    await admin.call('ACL', 'SETUSER', workerUser, 'reset', 'on', `>${password}`, ...workerAclRules(prefix));
    queueWriter = new Redis(`redis://${workerUser}:${password}@${new URL(redisUrl()).host}`, { maxRetriesPerRequest: 1 });
    stack = await startTestStack('hijack', { prefix, workers: 1, agent: { workerId: 'victim' } });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
    release = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-hijack-')), 'go');
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'victim', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials: 1, parallelism: 1, maxRetries: 3, trial: { command: [process.execPath, '-e', HOLDER, release], env: { VICTIM_SECRET: 'only-for-victim' } },
    });
    studyId = created.body.id;
    trialId = `${studyId}.0`;
    await waitFor(async () => {
      const t = await stack.coordinator.store.getTrial(studyId, 0);
      return t?.state === 'RUNNING' && t.workerId === 'victim' && t.jobId ? t : undefined;
    }, 20_000, 'the victim trial to run');
  });
  afterAll(async () => {
    fleet?.close();
    await stack?.close();
    queueWriter?.disconnect();
    await admin?.call('ACL', 'DELUSER', workerUser).catch(() => undefined);
    admin?.disconnect();
  });

  it('a fresh Started with a job lock set through the worker Redis user does not take over the running attempt', async () => {
    const t = (await stack.coordinator.store.getTrial(studyId, 0))!;
    const lock = keys.jobLock(queuePrefix(prefix), trialQueueName('default', 0), t.jobId!);
    // The worker's Redis user can read the real worker's lock and write one of its own.
    expect(await queueWriter.get(lock)).toBeTruthy();
    const jobToken = 'rogue-chosen-token:1';
    expect(await queueWriter.set(lock, jobToken, 'PX', 60_000)).toBe('OK');
    for (let i = 0; i < 4; i++) {
      const s = await fleet.open('rogue');
      s.send({ started: { trialId, workerId: 'rogue', resumeAttempt: 0, jobId: t.jobId, jobToken, deliveryId: `rogue-${i}` } });
      const reply = await s.next((m) => m.startReply !== undefined);
      expect(reply.startReply!.action).toBe('ACTION_SKIP');
      expect(reply.startReply!.template).toBeFalsy();
      s.end();
    }
    const after = (await stack.api('GET', `/api/v1/trials/${trialId}`)).body;
    expect(after).toMatchObject({ state: 'RUNNING', attempt: 1, workerId: 'victim' });
  });

  it('the real trial completes on its worker, in its first attempt', async () => {
    writeFileSync(release, 'go');
    const study = await stack.waitForStudy(studyId, 30_000);
    expect(study.state).toBe('COMPLETED');
    const t = (await stack.api('GET', `/api/v1/trials/${trialId}`)).body;
    expect(t).toMatchObject({ state: 'COMPLETED', attempt: 1, workerId: 'victim' });
  });
});

describe('a revoked worker that keeps its open stream and never heartbeats', () => {
  let stack: TestStack;
  let fleet: ScriptedFleet;
  beforeAll(async () => {
    stack = await startTestStack('revoked-stream', { workers: 0 });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
  });
  afterAll(async () => {
    fleet?.close();
    await stack?.close();
  });

  it('cannot report metrics or finish its trial after revocation', async () => {
    const { body } = await stack.api('POST', '/api/v1/studies', {
      name: 'revoked', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials: 1, parallelism: 1, trial: { command: ['unused'] },
    });
    const id = body.id as string;
    await waitFor(async () => (await stack.api('GET', `/api/v1/studies/${id}`)).body.counts.queued === 1 || undefined, 5000, 'a queued trial');
    const s = await fleet.open('revoked');
    s.send(await fleet.started(`${id}.0`, 'revoked'));
    expect((await s.next((m) => !!m.startReply)).startReply).toMatchObject({ action: 'ACTION_RUN', attempt: 1 });
    expect((await stack.api('DELETE', '/api/v1/workers/revoked')).status).toBe(200);
    // No heartbeat: straight to a forged result on the stream it opened before.
    s.send({ metrics: { attempt: 1, seq: 1, points: [{ name: 'score', value: 1e9, step: 1, timeMs: Date.now() }] } });
    s.send({ finished: { attempt: 1, outcome: 'OUTCOME_EXITED', exitCode: 0, signal: '', reason: '', stderrTail: '', lastSeq: 1 } });
    const err = await s.ended;
    expect(err?.code).toBe(16); // UNAUTHENTICATED
    expect(s.inbox.filter((m) => m.ack || m.finishAck)).toEqual([]);
    const t = await stack.coordinator.store.getTrial(id, 0);
    expect(t?.state).not.toBe('COMPLETED');
    expect(t?.value).toBeUndefined();
  });
});
