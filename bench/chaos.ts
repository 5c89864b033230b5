/**
 * npm run chaos — fault injection on real processes. A study of short checkpointing trials runs
 * on worker processes while a chaos loop kills a random worker (SIGKILL) every few seconds and
 * starts a replacement, and kills and restarts the coordinator. At the end it checks what the
 * system promises and prints it: no trial lost or completed twice, no metric point lost or
 * stored twice, resumed attempts started from their checkpoint, and the work that resuming saved.
 *
 *   npm run chaos -- [--trials 100] [--workers 4] [--epochs 6] [--epoch-ms 250]
 *                    [--kill-every-ms 3000] [--coordinator-kills 2] [--json FILE]
 * Exit code 1 when anything was lost or duplicated.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, startLocalRedis } from '../cli/local-redis.js';
import { keys } from '../shared/redis-keys.js';
import { exited, killAll, spawnCoordinator, spawnWorker, waitForHttp } from '../test/helpers/processes.js';
import { authHeaders } from '../test/helpers/tokens.js';
import { trialWithSeries } from '../test/helpers/series.js';

const { values: a } = parseArgs({
  options: {
    trials: { type: 'string', default: '100' }, workers: { type: 'string', default: '4' }, epochs: { type: 'string', default: '6' },
    'epoch-ms': { type: 'string', default: '250' }, 'kill-every-ms': { type: 'string', default: '3000' }, 'coordinator-kills': { type: 'string', default: '2' },
    json: { type: 'string', default: 'bench/results/chaos.json' },
  },
});
const N = Number(a.trials);
const W = Number(a.workers);
const E = Number(a.epochs);
const say = (m: string) => process.stderr.write(`${m}\n`);

async function main(): Promise<number> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tunehive-chaos-'));
  const redis = await startLocalRedis({ dataDir: path.join(tmp, 'redis'), appendOnly: true });
  const prefix = 'chaos';
  const ports = { http: await freePort(), grpc: await freePort() };
  const base = `http://127.0.0.1:${ports.http}`;
  const children = new Set<ChildProcess>();
  const startCoordinator = () => {
    const c = spawnCoordinator({ redisUrl: redis.url, prefix, httpPort: ports.http, grpcPort: ports.grpc, checkpointDir: path.join(tmp, 'checkpoints') });
    children.add(c);
    return c;
  };
  let workerSeq = 0;
  const workers = new Map<string, ChildProcess>();
  const startWorker = () => {
    const id = `chaos-w${++workerSeq}`;
    const w = spawnWorker({ redisUrl: redis.url, prefix, coordinator: `127.0.0.1:${ports.grpc}`, id });
    workers.set(id, w);
    children.add(w);
    return id;
  };
  const api = async (method: string, url: string, body?: unknown): Promise<any> => {
    const r = await fetch(`${base}${url}`, { method, headers: authHeaders(body ? { 'content-type': 'application/json' } : {}), body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(5000) });
    return r.json();
  };

  let coordinator = startCoordinator();
  await waitForHttp(`${base}/api/v1/studies`);
  for (let i = 0; i < W; i++) startWorker();
  const study = await api('POST', '/api/v1/studies', {
    name: 'chaos', objective: { metric: 'accuracy', direction: 'maximize' },
    searchSpace: { lr: { type: 'float', min: 0.01, max: 0.2, log: true } }, algorithm: { name: 'random', seed: 1 },
    parallelism: W, maxTrials: N, maxRetries: 50,
    trial: {
      command: [process.execPath, '--import', 'tsx', path.resolve('examples/digits/train.ts'), '--lr', '${params.lr}', '--hidden', '16', '--epochs', String(E), '--batch-size', '64', '--l2', '1e-4'],
      env: { TUNEHIVE_EPOCH_DELAY_MS: a['epoch-ms']! },
    },
  });
  say(`chaos: study ${study.id}, ${N} trials x ${E} epochs on ${W} workers; killing a worker every ${a['kill-every-ms']} ms, the coordinator ${a['coordinator-kills']} times`);

  const started = Date.now();
  const kills: Array<{ at: number; worker: string; trials: Array<{ id: string; attempt: number }> }> = [];
  const detected: number[] = [];
  let coordinatorKills = 0;
  let lastKill = Date.now();
  let state: any = study;
  let lastLine = '';
  while (state.state === 'RUNNING') {
    await new Promise((r) => setTimeout(r, 250));
    try {
      state = await api('GET', `/api/v1/studies/${study.id}`);
    } catch {
      continue; // the coordinator is being restarted
    }
    const doneCount = state.counts.completed + state.counts.failed;
    // Detection: a killed worker's trials show a new attempt.
    const running = await api('GET', `/api/v1/studies/${study.id}/trials?state=RUNNING&limit=1000`).catch(() => undefined);
    if (running) {
      for (const k of kills) for (const t of k.trials.splice(0)) {
        const now = running.trials.find((x: any) => x.id === t.id && x.attempt > t.attempt);
        if (now) detected.push(Date.parse(now.startedAt) - k.at);
        else k.trials.push(t);
      }
    }
    if (Date.now() - lastKill > Number(a['kill-every-ms']) && workers.size > 0 && doneCount < N - W) {
      lastKill = Date.now();
      const ids = [...workers.keys()];
      const victim = ids[Math.floor(Math.random() * ids.length)]!;
      const onIt = (running?.trials ?? []).filter((t: any) => t.workerId === victim).map((t: any) => ({ id: t.id, attempt: t.attempt }));
      workers.get(victim)!.kill('SIGKILL');
      await exited(workers.get(victim)!);
      workers.delete(victim);
      kills.push({ at: Date.now(), worker: victim, trials: onIt });
      startWorker();
    }
    const due = Math.floor(((coordinatorKills + 1) * N) / (Number(a['coordinator-kills']) + 1));
    if (coordinatorKills < Number(a['coordinator-kills']) && doneCount >= due) {
      coordinatorKills++;
      coordinator.kill('SIGKILL');
      await exited(coordinator);
      await new Promise((r) => setTimeout(r, 1000));
      coordinator = startCoordinator();
      await waitForHttp(`${base}/api/v1/studies`);
      say(`chaos: coordinator killed and restarted (${coordinatorKills})`);
    }
    const line = `${doneCount}/${N} done, ${state.counts.running} running, workers killed ${kills.length}, coordinator kills ${coordinatorKills}`;
    if (line !== lastLine) process.stderr.write(process.stderr.isTTY ? `\r${line}   ` : `${line}\n`);
    lastLine = line;
  }
  const wallS = (Date.now() - started) / 1000;
  process.stderr.write('\n');

  // ---- the checks ----
  const trials: any[] = (await api('GET', `/api/v1/studies/${study.id}/trials?limit=1000`)).trials;
  const r = new Redis(redis.url);
  const history = (await r.lrange(keys.history(prefix, study.id), 0, -1)).map((x) => JSON.parse(x));
  await r.quit();
  const completedTimes = new Map<number, number>();
  for (const h of history) if (h.s === 'COMPLETED') completedTimes.set(h.n, (completedTimes.get(h.n) ?? 0) + 1);
  let pointsLost = 0;
  let pointsDuplicated = 0;
  let epochsRun = 0;
  let scratchRedo = 0;
  let resumedFromCheckpoint = 0;
  let resumedFromScratch = 0;
  for (const t of trials) {
    const full = await trialWithSeries(async (method, url) => ({ status: 200, body: await api(method, url) }), t.id);
    const byAttempt = new Map<number, number[]>();
    for (const p of full.metrics.epoch ?? []) byAttempt.set(p.attempt, [...(byAttempt.get(p.attempt) ?? []), p.step]);
    const union = new Set<number>();
    for (const steps of byAttempt.values()) {
      pointsDuplicated += steps.length - new Set(steps).size;
      steps.forEach((s) => union.add(s));
      epochsRun += steps.length;
    }
    for (let e = 1; e <= E; e++) if (!union.has(e)) pointsLost++;
    // Restarting from scratch would redo every epoch an interrupted attempt had reached.
    for (const [attempt, steps] of byAttempt) if (attempt < full.attempt) scratchRedo += Math.max(0, ...steps);
    const resumes = new Set((full.metrics.resumed_from ?? []).map((p: any) => p.attempt));
    for (let att = 2; att <= full.attempt; att++) (resumes.has(att) ? resumedFromCheckpoint++ : resumedFromScratch++);
  }
  const redone = epochsRun - trials.length * E;
  detected.sort((x, y) => x - y);
  const summary = {
    trials: N, completed: state.counts.completed, state: state.state, wallSeconds: Number(wallS.toFixed(1)),
    trialsLost: N - [...completedTimes.keys()].length,
    trialsCompletedTwice: [...completedTimes.values()].filter((c) => c > 1).length,
    metricPointsLost: pointsLost, metricPointsDuplicated: pointsDuplicated,
    workersKilled: kills.length, coordinatorKills,
    resumedAttempts: resumedFromCheckpoint + resumedFromScratch, resumedFromCheckpoint, resumedFromScratch,
    epochsRedone: redone, epochsRedoneIfRestartedFromScratch: scratchRedo,
    epochsSavedByResume: scratchRedo - redone,
    deadWorkerDetectionMs: detected.length ? { median: detected[Math.floor(detected.length / 2)], max: detected.at(-1), samples: detected.length } : null,
  };
  console.log(JSON.stringify(summary, null, 2));
  mkdirSync(path.dirname(a.json!), { recursive: true });
  writeFileSync(a.json!, JSON.stringify(summary, null, 2));

  await killAll([...children]);
  await redis.stop();
  const ok = summary.state === 'COMPLETED' && summary.trialsLost === 0 && summary.trialsCompletedTwice === 0 && pointsLost === 0 && pointsDuplicated === 0;
  say(ok ? 'chaos: no trial or metric point lost or duplicated' : 'chaos: LOSSES OR DUPLICATES FOUND');
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  say(`chaos failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(2);
});
