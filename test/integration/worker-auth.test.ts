/**
 * The attacks of issue 10 on the worker protocol, re-run over real gRPC against a real
 * coordinator while a real worker agent runs the victim trial: a rogue without a credential,
 * with another worker's credential, and with a valid credential of its own but someone else's
 * trial (bare Started, fake Finished, forged batch, four bare starts, checkpoint download with
 * API-visible ids, planted checkpoint upload). Each is refused and the real trial completes
 * unharmed. Then join tokens (expiry, maxUses, revocation), worker revocation and project
 * restriction with real agents.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointChunk, CheckpointSaved } from '../../shared/proto.js';
import { CredentialStore } from '../../coordinator/store/credential-store.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import type { StudySpec } from '../../shared/study-spec.js';
import { Agent } from '../../worker/agent.js';
import { CREDENTIAL_FILE } from '../../worker/worker-credential.js';
import { quietLog, redisUrl, TEST_JOIN_TOKEN, waitFor } from '../helpers/env.js';
import { exited, killAll, spawnWorker } from '../helpers/processes.js';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { trialWithSeries } from '../helpers/series.js';
import { clientWith, joinWith, openStream, ScriptedFleet } from '../helpers/scripted-worker.js';

const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), `tunehive-auth-${name}-`));

/**
 * Reports step k (and checkpoints it) every 150 ms until the release file exists, then reports
 * `released=1` and exits 0: a trial finished by anyone before the release lacks that metric.
 */
const HOLDER = `const fs=require('fs'),p=require('path');const rel=process.argv[1];const dir=process.env.TUNEHIVE_CHECKPOINT_DIR;let k=0;
const tick=()=>{k++;fs.writeFileSync(p.join(dir,'state.json'),JSON.stringify({k}));console.log('step='+k+' score='+k);console.log('tunehive.checkpoint='+k);
if(fs.existsSync(rel)){console.log('released=1');setTimeout(()=>process.exit(0),50)}else setTimeout(tick,150)};tick();`;

const holderSpec = (release: string, extra: Record<string, unknown> = {}) => ({
  name: 'victim', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
  maxTrials: 1, parallelism: 1, maxRetries: 3, trial: { command: [process.execPath, '-e', HOLDER, release] }, ...extra,
});

function upload(client: grpc.Client, head: CheckpointChunk, data: Buffer): Promise<CheckpointSaved> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { uploadCheckpoint(cb: (e: grpc.ServiceError | null, r?: CheckpointSaved) => void): grpc.ClientWritableStream<CheckpointChunk> })
      .uploadCheckpoint((e, r) => (e ? reject(e) : resolve(r!)));
    call.write(head);
    call.write({ fileIndex: 0, data });
    call.end();
  });
}

async function download(client: grpc.Client, req: { trialId: string; checkpointId: string; attempt: number; attemptSecret: string }): Promise<{ chunks: number; error?: grpc.ServiceError }> {
  const call = (client as unknown as { downloadCheckpoint(r: typeof req): grpc.ClientReadableStream<CheckpointChunk> }).downloadCheckpoint(req);
  let chunks = 0;
  try {
    for await (const c of call as AsyncIterable<CheckpointChunk>) if (c.data?.length) chunks++;
    return { chunks };
  } catch (err) {
    return { chunks, error: err as grpc.ServiceError };
  }
}

const code = (e: grpc.ServiceError | undefined) => (e ? grpc.status[e.code] : 'OK');
/** How the stream ended ('STILL OPEN' after 10 s: the attack was not refused). */
const endCode = async (s: { ended: Promise<grpc.ServiceError | undefined> }) => {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([s.ended.then(code), new Promise<string>((resolve) => { timer = setTimeout(() => resolve('STILL OPEN'), 10_000); })]);
  clearTimeout(timer);
  return r;
};

describe('a rogue gRPC client against a running trial', () => {
  let stack: TestStack;
  let fleet: ScriptedFleet;
  let trialId: string;
  let studyId: string;
  let release: string;
  beforeAll(async () => {
    stack = await startTestStack('auth-rogue', { workers: 1, agent: { workerId: 'victim' } });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
    release = path.join(tmp('release'), 'go');
    const created = await stack.api('POST', '/api/v1/studies', holderSpec(release));
    studyId = created.body.id;
    trialId = `${studyId}.0`;
    // The victim is running and has a checkpoint the API shows everyone.
    await waitFor(async () => {
      const t = (await stack.api('GET', `/api/v1/trials/${trialId}`)).body;
      return t.state === 'RUNNING' && t.workerId === 'victim' && t.checkpoint?.id ? t : undefined;
    }, 20_000, 'the victim trial to run and checkpoint');
  });
  afterAll(async () => {
    fleet?.close();
    await stack?.close();
  });

  const running = async () => {
    const t = (await stack.api('GET', `/api/v1/trials/${trialId}`)).body;
    expect(t).toMatchObject({ state: 'RUNNING', attempt: 1, workerId: 'victim' });
    return t;
  };

  it('without a credential: every call is UNAUTHENTICATED', async () => {
    await running();
    for (const credential of [undefined, 'thw_0123456789abcdef_' + 'A'.repeat(43), 'not-a-token-at-all']) {
      const bare = clientWith(stack.coordinator.grpcAddress, credential);
      const s = openStream(bare);
      s.send({ started: { trialId, workerId: 'rogue', resumeAttempt: 1 } });
      expect(await endCode(s)).toBe('UNAUTHENTICATED');
      const up = await upload(bare, { trialId, attempt: 1, step: 99, files: [{ path: 'evil.pkl', size: 4 }] }, Buffer.from('evil')).catch((e: grpc.ServiceError) => e);
      expect(code(up as grpc.ServiceError)).toBe('UNAUTHENTICATED');
      const t = await running();
      expect(code((await download(bare, { trialId, checkpointId: t.checkpoint.id, attempt: 1, attemptSecret: '' })).error)).toBe('UNAUTHENTICATED');
      bare.close();
    }
  });

  it("with another worker's credential: a Started naming the victim worker is PERMISSION_DENIED", async () => {
    await running();
    const s = await fleet.open('rogue');
    s.send({ started: { trialId, workerId: 'victim', resumeAttempt: 1, attemptSecret: 'guessed' } });
    expect(await endCode(s)).toBe('PERMISSION_DENIED');
    const s2 = await fleet.open('rogue');
    s2.send({ started: { trialId, workerId: 'victim', resumeAttempt: 0, ...(await fleet.deliver(trialId)) } });
    expect(await endCode(s2)).toBe('PERMISSION_DENIED');
    await running();
  });

  it('bare Started: a fresh start without holding the job is PERMISSION_DENIED and the program keeps running', async () => {
    await running();
    const t = (await stack.api('GET', `/api/v1/trials/${trialId}`)).body;
    for (const proof of [{}, { jobId: `${trialId}-r0`, jobToken: 'stolen-token' }, { jobId: 'other.0-r0', jobToken: 'x' }]) {
      const s = await fleet.open('rogue');
      s.send({ started: { trialId, workerId: 'rogue', resumeAttempt: 0, ...proof } });
      expect(await endCode(s)).toBe('PERMISSION_DENIED');
    }
    const after = await running();
    expect(after.startedAt).toBe(t.startedAt);
  });

  it('four bare starts open no attempt and count no retry', async () => {
    for (let i = 0; i < 4; i++) {
      const s = await fleet.open('rogue');
      s.send({ started: { trialId, workerId: 'rogue', resumeAttempt: 0, deliveryId: `rogue-${i}` } });
      expect(await endCode(s)).toBe('PERMISSION_DENIED');
    }
    await running();
    const study = (await stack.api('GET', `/api/v1/studies/${studyId}`)).body;
    expect(study.counts).toMatchObject({ running: 1, failed: 0 });
  });

  it('fake Finished: a re-join without the attempt secret cannot finish the trial', async () => {
    await running();
    const s = await fleet.open('rogue');
    s.send({ started: { trialId, workerId: 'rogue', resumeAttempt: 1, attemptSecret: 'guessed' } });
    s.send({ finished: { attempt: 1, outcome: 'OUTCOME_EXITED', exitCode: 0, signal: '', reason: '', stderrTail: '', lastSeq: 0 } });
    expect(await endCode(s)).toBe('PERMISSION_DENIED');
    expect(s.inbox.filter((m) => m.finishAck || m.startReply?.action === 'ACTION_RUN')).toEqual([]);
    await running();
  });

  it('forged batch: metrics on a re-join without the secret are refused, none stored', async () => {
    const s = await fleet.open('rogue');
    s.send({ started: { trialId, workerId: 'rogue', resumeAttempt: 1 } });
    s.send({ metrics: { attempt: 1, seq: 100_000, points: [{ name: 'score', value: 1e9, step: 999_999, timeMs: Date.now() }] } });
    expect(await endCode(s)).toBe('PERMISSION_DENIED');
    await running();
  });

  it('checkpoint download with the ids the API shows is PERMISSION_DENIED', async () => {
    const t = await running();
    const guesses = [{ attempt: 1, attemptSecret: '' }, { attempt: 1, attemptSecret: 'guessed' }, { attempt: 0, attemptSecret: '' }];
    for (const g of guesses) {
      const r = await download(await fleet.client('rogue'), { trialId, checkpointId: t.checkpoint.id, ...g });
      expect(code(r.error)).toBe('PERMISSION_DENIED');
      expect(r.chunks).toBe(0);
    }
  });

  it('planted checkpoint upload is PERMISSION_DENIED and never becomes the trial checkpoint', async () => {
    await running();
    const err = await upload(await fleet.client('rogue'), { trialId, attempt: 1, attemptSecret: 'guessed', step: 1_000_000, files: [{ path: 'state.json', size: 4 }] }, Buffer.from('evil'))
      .catch((e: grpc.ServiceError) => e);
    expect(code(err as grpc.ServiceError)).toBe('PERMISSION_DENIED');
    const t = await running();
    expect(t.checkpoint.step).toBeLessThan(1_000_000);
  });

  it('the real trial completes unharmed: one attempt on its worker, only its own metrics', async () => {
    writeFileSync(release, 'go');
    const study = await stack.waitForStudy(studyId, 30_000);
    expect(study.state).toBe('COMPLETED');
    const t = await trialWithSeries(stack.api, trialId);
    expect(t).toMatchObject({ state: 'COMPLETED', attempt: 1, workerId: 'victim' });
    const steps = t.metrics.score.map((p: any) => p.step);
    expect(steps).toEqual(steps.map((_: number, i: number) => i + 1));
    expect(t.metrics.score.every((p: any) => p.attempt === 1)).toBe(true);
    expect(t.value).toBe(steps.length);
    // Its program was still reporting when released: no one ended the trial before.
    expect(t.metrics.released?.map((p: any) => p.value)).toEqual([1]);
  });
});

describe('join tokens, worker revocation and project-restricted workers', () => {
  let stack: TestStack;
  let creds: CredentialStore;
  const agents: Agent[] = [];
  beforeAll(async () => {
    stack = await startTestStack('auth-fleet', { workers: 0 });
    creds = new CredentialStore(stack.coordinator.store.redis, stack.prefix);
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await stack?.close();
  });

  const bare = () => clientWith(stack.coordinator.grpcAddress);
  const joinToken = async (o: { projects?: string[]; maxUses?: number; ttlMs?: number } = {}) =>
    (await creds.create({ kind: 'worker-join', owner: 'test', role: 'viewer', projects: o.projects ?? ['*'], ...(o.maxUses ? { maxUses: o.maxUses } : {}), ...(o.ttlMs ? { ttlMs: o.ttlMs } : {}) })).token;
  const agent = async (workerId: string, token: string) => {
    const a = new Agent({
      redisUrl: redisUrl(), prefix: stack.prefix, coordinator: stack.coordinator.grpcAddress, slots: 1, log: quietLog(), workerId, workDir: tmp(workerId),
      heartbeatMs: 300, graceMs: 2000, lockMs: 2000, gpus: { kind: 'none' }, joinToken: token, projectPollMs: 300,
    });
    agents.push(a);
    await a.start();
    return a;
  };
  /** A study of a project, stored as the API would store it (with the spec's project field). */
  const studyIn = async (project: string, raw: Record<string, unknown>) => {
    const spec = { ...validateStudy(raw), project } as StudySpec;
    const study = await stack.coordinator.store.createStudy(spec);
    stack.coordinator.runner.kick(study.id);
    return study.id;
  };

  it('join token expiry, maxUses and revocation: each refused join is UNAUTHENTICATED', async () => {
    const c = bare();
    const twice = await joinToken({ maxUses: 2 });
    expect((await joinWith(c, { joinToken: twice, workerId: 'j1' })).workerId).toBe('j1');
    expect((await joinWith(c, { joinToken: twice, workerId: 'j2' })).projects).toEqual(['*']);
    await expect(joinWith(c, { joinToken: twice, workerId: 'j3' })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    const brief = await joinToken({ ttlMs: 50 });
    await waitFor(async () => (await creds.verify(brief)) === undefined || undefined, 5000, 'the join token to expire');
    await expect(joinWith(c, { joinToken: brief, workerId: 'j4' })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    const revoked = await joinToken();
    const rec = (await creds.verify(revoked))!;
    expect(await creds.revoke(rec.id)).toBe(true);
    await expect(joinWith(c, { joinToken: revoked, workerId: 'j5' })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    // A join token is not a worker credential, and a worker id is never handed out twice.
    const open = openStream(clientWith(stack.coordinator.grpcAddress, twice));
    open.send({ started: { trialId: 'abcd.0', workerId: 'j1', resumeAttempt: 0 } });
    expect(await endCode(open)).toBe('UNAUTHENTICATED');
    const again = await joinWith(c, { joinToken: await joinToken(), workerId: 'j1' });
    expect(again.workerId).toMatch(/^j1-[0-9a-f]{6}$/);
    // Nothing of a worker that vanishes stays for ever: its credential expires unless used, and its id claim with it.
    const cred = (await creds.verify(again.credential))!;
    expect(cred.expiresAt! - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(await stack.coordinator.store.redis.pttl(`${stack.prefix}:worker-claim:j1`)).toBeGreaterThan(30 * 86_400_000);
    c.close();
  });

  it('worker revocation: its stream is told to stop, the trial moves to another worker, its credential is refused', async () => {
    const release = path.join(tmp('release'), 'go');
    const everyProject = await joinToken();
    const doomed = await agent('doomed', everyProject);
    // A project no one has used yet: the agent finds its queue by discovery.
    const id = await studyIn('revoke-p', holderSpec(release));
    await waitFor(async () => {
      const t = await stack.coordinator.store.getTrial(id, 0);
      return t?.state === 'RUNNING' && t.workerId === 'doomed' || undefined;
    }, 20_000, 'the trial to run on the doomed worker');
    const saved = path.join((doomed as unknown as { o: { workDir: string } }).o.workDir, CREDENTIAL_FILE);
    const credential = (JSON.parse((await import('node:fs')).readFileSync(saved, 'utf8')) as { credential: string }).credential;
    await agent('heir', everyProject);

    const res = await stack.api('DELETE', '/api/v1/workers/doomed');
    expect(res).toMatchObject({ status: 200, body: { revoked: true, workerId: 'doomed', credentials: 1 } });
    expect(await doomed.ended).toMatch(/credential refused/);
    await waitFor(async () => {
      const t = await stack.coordinator.store.getTrial(id, 0);
      return t?.state === 'RUNNING' && t.workerId === 'heir' || undefined;
    }, 20_000, 'the trial to move to the heir');
    writeFileSync(release, 'go');
    const study = await stack.waitForStudy(id, 30_000);
    expect(study.state).toBe('COMPLETED');
    expect(await stack.coordinator.store.getTrial(id, 0)).toMatchObject({ state: 'COMPLETED', attempt: 2, workerId: 'heir' });
    // The revoked credential opens nothing any more, and was forgotten on disk.
    const s = openStream(clientWith(stack.coordinator.grpcAddress, credential));
    s.send({ started: { trialId: `${id}.0`, workerId: 'doomed', resumeAttempt: 0 } });
    expect(await endCode(s)).toBe('UNAUTHENTICATED');
    expect(existsSync(saved)).toBe(false);
    expect((await stack.api('DELETE', '/api/v1/workers/doomed')).status).toBe(404);
    await Promise.all(agents.splice(0).map((a) => a.close()));
  });

  it("project restriction: a worker joined for project X never runs project Y's trial, and its Started is refused", async () => {
    const xNode = await agent('x-node', await joinToken({ projects: ['team-x'] }));
    expect(xNode.projects).toEqual(['team-x']);
    const quad = (name: string) => ({
      name, objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 5 } }, maxTrials: 2, parallelism: 2,
      trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}'] },
    });
    const y = await studyIn('team-y', quad('y'));
    await waitFor(async () => (await stack.coordinator.store.getStudy(y))?.counts.queued === 2 || undefined, 5000, "project Y's trials to be queued");
    // The X worker's credential cannot start Y's trial even holding its job.
    const xFleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store, await joinToken({ projects: ['team-x'] }));
    const s = await xFleet.open('x-rogue');
    s.send({ started: { trialId: `${y}.0`, workerId: 'x-rogue', resumeAttempt: 0, ...(await xFleet.deliver(`${y}.0`, { project: 'team-y' })) } });
    expect(await endCode(s)).toBe('PERMISSION_DENIED');
    xFleet.close();

    const x = await studyIn('team-x', quad('x'));
    expect((await stack.waitForStudy(x, 30_000)).state).toBe('COMPLETED');
    expect((await stack.coordinator.store.getStudy(y))!.counts).toMatchObject({ queued: 2, running: 0 });
    await agent('y-node', await joinToken({ projects: ['team-y'] }));
    expect((await stack.waitForStudy(y, 30_000)).state).toBe('COMPLETED');
    const trials = await stack.coordinator.store.getTrials(y, [0, 1]);
    expect(trials.map((t) => t.workerId)).toEqual(['y-node', 'y-node']);
    expect((await stack.coordinator.store.getTrials(x, [0, 1])).map((t) => t.workerId)).toEqual(['x-node', 'x-node']);
    expect(xNode.completed.length).toBe(2);
  });

  it('tunehive worker: the join token comes by environment, never reaches a trial, and is required to join', async () => {
    const child = spawnWorker({ redisUrl: redisUrl(), prefix: stack.prefix, coordinator: stack.coordinator.grpcAddress, id: 'cli-node' });
    try {
      const probe = `const fs=require('fs');const t=process.argv[1];const argv=fs.readFileSync('/proc/'+process.ppid+'/cmdline','utf8');
console.log('leak_env='+(Object.values(process.env).some((v)=>v&&v.includes(t))?1:0)+' leak_argv='+(argv.includes(t)?1:0)+' score=1');`;
      const id = await studyIn('default', {
        name: 'probe', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 1,
        trial: { command: [process.execPath, '-e', probe, TEST_JOIN_TOKEN] },
      });
      expect((await stack.waitForStudy(id, 30_000)).state).toBe('COMPLETED');
      const t = await trialWithSeries(stack.api, `${id}.0`);
      expect(t.workerId).toBe('cli-node');
      expect({ env: t.metrics.leak_env[0].value, argv: t.metrics.leak_argv[0].value }).toEqual({ env: 0, argv: 0 });
    } finally {
      await killAll([child]);
    }
    // Without a join token (and no saved credential) the worker says what it needs and exits 1.
    const { spawn } = await import('node:child_process');
    // The Redis URL carries a password: by environment, as the CLI requires.
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl() };
    delete env.TUNEHIVE_JOIN_TOKEN;
    const noToken = spawn(process.execPath, [path.resolve('bin/tunehive.mjs'), 'worker', '--prefix', stack.prefix, '--coordinator', stack.coordinator.grpcAddress,
      '--work-dir', tmp('no-token')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    noToken.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    await exited(noToken);
    expect(noToken.exitCode).toBe(1);
    expect(stderr).toMatch(/TUNEHIVE_JOIN_TOKEN/);
  });

  it('the StartReply carries the trial template, parameters and limits (the worker reads no study data)', async () => {
    const fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
    const id = await studyIn('default', {
      name: 't', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 1,
      trial: { command: ['node', 'train.js', '--x=${params.x}'], env: { A: '1' }, timeoutSeconds: 60, image: 'python:3.12' }, limits: { maxMetricPoints: 77 },
    });
    await waitFor(async () => (await stack.coordinator.store.getTrial(id, 0))?.jobId, 5000, 'the job');
    const s = await fleet.open('reader');
    s.send(await fleet.started(`${id}.0`, 'reader'));
    const r = (await s.next((m) => !!m.startReply)).startReply!;
    const trial = (await stack.coordinator.store.getTrial(id, 0))!;
    expect(r).toMatchObject({
      action: 'ACTION_RUN', attempt: 1, paramsJson: JSON.stringify(trial.params),
      template: { command: ['node', 'train.js', '--x=${params.x}'], env: { A: '1' }, timeoutSeconds: 60, image: 'python:3.12', limits: { maxMetricPoints: 77 } },
    });
    expect(r.attemptSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The secret is stored only hashed, and never shown by the HTTP API.
    const api = await stack.api('GET', `/api/v1/trials/${id}.0`);
    expect(JSON.stringify(api.body)).not.toContain(r.attemptSecret);
    expect(await stack.coordinator.store.redis.hget(`${stack.prefix}:{${id}}:trial:0`, 'attemptSecret')).not.toBe(r.attemptSecret);
    s.end();
    fleet.close();
  });
});
