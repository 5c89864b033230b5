/**
 * A 100,000-trial study against a coordinator process (bench:load part "big-study", or alone:
 * `npm run bench:big-study -- --trials 100000`): the study summary, a page of 100 trials of each
 * state (the rare ones included) at random depths by cursor, `tpe` asks with the whole history
 * behind them, Redis bytes per trial and the coordinator's RSS. The study is written straight
 * into Redis (bench/fixtures/big-study.ts); every figure is timed over HTTP as a client sees it,
 * next to the same Redis reads done from this process in the same run (the ceiling: what the
 * request costs Redis alone), and the tpe ask next to one with its history window lifted.
 * Alone, it writes bench/results/big-study.{json,md} too.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { connectRedis, type RedisClient } from '../../shared/redis.js';
import { keys, trialStateScore, TRIAL_STATE_SPAN } from '../../shared/redis-keys.js';
import type { StudySpec } from '../../shared/study-spec.js';
import { TRIAL_STATES, type TrialState } from '../../shared/trial.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { freePort, startLocalRedis, type LocalRedis } from '../../cli/local-redis.js';
import { exited, killAll, spawnCoordinator, waitForHttp } from '../../test/helpers/processes.js';
import { TEST_ADMIN_TOKEN } from '../../test/helpers/tokens.js';
import { createBigStudy } from '../fixtures/big-study.js';
import { httpRequest } from '../http-request.js';
import { sectionMarkdown } from './report.js';
import { percentile, type Figure, type Section } from './figures.js';

export interface BigStudyOptions {
  redisUrl: string;
  trials: number;
  /** Summary calls timed (default 50). */
  samples?: number;
  /** Pages timed per state (default 20). */
  pages?: number;
  /** tpe asks timed with the bounded history (default 30), and with the window lifted (default 3; 0: not measured). */
  asks?: number;
  unboundedAsks?: number;
  /** Points per completed trial's curve (default 50, as the fixture). */
  curvePoints?: number;
  prefix?: string;
}

const TARGETS = { summaryMs: 20, pageMs: 50, askMs: 20 } as const;

interface Timing { p50: number; p99: number; n: number }
function timing(ms: number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}
const r2 = (v: number) => Math.round(v * 100) / 100;

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function usedMemory(redis: RedisClient): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** A deterministic pick of `n` of `from` (spread evenly), so two runs time the same depths. */
const spread = <T>(from: readonly T[], n: number): T[] => (from.length <= n ? [...from] : Array.from({ length: n }, (_, i) => from[Math.floor((i * from.length) / n)]!));

export async function runBigStudy(o: BigStudyOptions): Promise<Section> {
  const prefix = o.prefix ?? `bigstudy${Date.now().toString(36)}`;
  const redis = connectRedis(o.redisUrl, 'bench-big-study');
  const store = new RedisStudyStore(redis, prefix);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-big-study-'));
  const children: ChildProcess[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const notes: string[] = [];
  const figures: Figure[] = [];
  try {
    const before = await usedMemory(redis);
    const made = await createBigStudy(store, { trials: o.trials, curvePoints: o.curvePoints ?? 50, live: 8 });
    const id = made.studyId;
    const after = await usedMemory(redis);
    const indexBytes = Number(await redis.call('MEMORY', 'USAGE', keys.trialStates(prefix, id), 'SAMPLES', '0'));
    notes.push(`fixture: ${o.trials} trials written in ${Math.round(made.ms)} ms`);

    // The fixture's study runs on workers with `random`: made an ask/tell tpe study with room for the
    // asks before a coordinator reads it (a replica reads a study's spec once: specs never change).
    const spec = JSON.parse((await redis.hget(keys.study(prefix, id), 'spec'))!) as StudySpec & { trial?: unknown };
    delete spec.trial;
    const setAlgorithm = (settings: Record<string, unknown>) => redis.hset(keys.study(prefix, id), 'spec', JSON.stringify({ ...spec, maxTrials: o.trials + 10_000, algorithm: { name: 'tpe', seed: 1, settings } }));
    await setAlgorithm({});

    const httpPort = await freePort();
    const grpcPort = await freePort();
    const start = async () => {
      const c = spawnCoordinator({ redisUrl: o.redisUrl, prefix, httpPort, grpcPort, checkpointDir: path.join(dir, 'ckpt') });
      children.push(c);
      await waitForHttp(`${base}/healthz`);
      return c;
    };
    const base = `http://127.0.0.1:${httpPort}`;
    let coordinator = await start();
    const get = async (url: string) => {
      const r = await httpRequest(agent, base, 'GET', url, { token: TEST_ADMIN_TOKEN });
      if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.text.slice(0, 300)}`);
      return JSON.parse(r.text) as Record<string, unknown>;
    };
    const post = async (url: string, body?: unknown) => {
      const r = await httpRequest(agent, base, 'POST', url, { token: TEST_ADMIN_TOKEN, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (r.status >= 300) throw new Error(`POST ${url}: ${r.status} ${r.text.slice(0, 300)}`);
      return JSON.parse(r.text) as Record<string, unknown>;
    };

    // ---- the summary ----
    await get(`/api/v1/studies/${id}`);
    const summary: number[] = [];
    for (let i = 0; i < (o.samples ?? 50); i++) summary.push((await timed(() => get(`/api/v1/studies/${id}`))).ms);
    const study = (await store.getStudy(id))!;
    const rawSummary: number[] = [];
    for (let i = 0; i < (o.samples ?? 50); i++) {
      rawSummary.push((await timed(() => redis.pipeline().hgetall(keys.study(prefix, id)).hgetall(keys.trial(prefix, id, study.best?.number ?? 0)).exec())).ms);
    }
    const s = timing(summary);
    const sr = timing(rawSummary);
    const rawSummaryLabel = 'the same Redis reads from this process (study hash + best trial, one pipeline), p50';
    figures.push(
      { key: 'big.summary.p50', label: `study summary (GET /studies/:id) at ${o.trials} trials, p50`, value: r2(s.p50), unit: 'ms', against: { label: rawSummaryLabel, value: r2(sr.p50) }, target: { text: `< ${TARGETS.summaryMs} ms`, met: s.p50 < TARGETS.summaryMs } },
      { key: 'big.summary.p99', label: `study summary at ${o.trials} trials, p99 of ${s.n}`, value: r2(s.p99), unit: 'ms',
        against: { label: 'the same Redis reads from this process, p99 (how loaded the machine is)', value: r2(sr.p99) }, target: { text: `< ${TARGETS.summaryMs} ms`, met: s.p99 < TARGETS.summaryMs } },
    );

    // ---- a page of 100 of each state, at depths spread over the state (by cursor) ----
    const ix = keys.trialStates(prefix, id);
    let allFull = true;
    for (const state of TRIAL_STATES as readonly TrialState[]) {
      const lo = trialStateScore(state, 0);
      const members = (await redis.zrangebyscore(ix, lo, `(${lo + TRIAL_STATE_SPAN}`)).map(Number);
      if (members.length === 0) continue;
      const cursors: Array<number | undefined> = [undefined, ...spread(members.slice(0, -1), (o.pages ?? 20) - 1)];
      const ms: number[] = [];
      const raw: number[] = [];
      await get(`/api/v1/studies/${id}/trials?state=${state}&limit=100`); // warm: steady state is what a dashboard paging through sees
      for (const c of cursors) {
        const url = `/api/v1/studies/${id}/trials?state=${state}&limit=100${c === undefined ? '' : `&cursor=${c}`}`;
        const t = await timed(() => get(url));
        ms.push(t.ms);
        const left = c === undefined ? members.length : members.length - members.indexOf(c) - 1;
        if ((t.value.trials as unknown[]).length !== Math.min(100, left)) allFull = false;
        raw.push((await timed(async () => {
          const numbers = await redis.zrangebyscore(ix, c === undefined ? lo : `(${lo + c}`, `(${lo + TRIAL_STATE_SPAN}`, 'LIMIT', 0, 100);
          const pipe = redis.pipeline();
          for (const n of numbers) pipe.hgetall(keys.trial(prefix, id, Number(n)));
          await pipe.exec();
        })).ms);
      }
      const t = timing(ms);
      const tr = timing(raw);
      figures.push({
        key: `big.page.${state.toLowerCase()}.p99`, label: `page of 100 ${state} trials (${members.length} of ${o.trials}), p99 of ${t.n} depths (p50 ${r2(t.p50)} ms; Redis reads alone p50 ${r2(tr.p50)} ms)`,
        value: r2(t.p99), unit: 'ms', against: { label: 'the same Redis reads from this process (ZRANGEBYSCORE + HGETALL each, pipelined), p99', value: r2(tr.p99) },
        target: { text: `< ${TARGETS.pageMs} ms`, met: t.p99 < TARGETS.pageMs },
      });
    }
    notes.push(allFull ? 'every state-filtered page came back full (100, or all that were left after its cursor)' : 'SOME STATE-FILTERED PAGES CAME BACK SHORT');

    // ---- tpe asks with the whole history behind them ----
    const askAndTell = async () => {
      const t = await timed(() => post(`/api/v1/studies/${id}/trials/ask`));
      await post(`/api/v1/studies/${id}/trials/${t.value.number as number}/tell`, { value: 1 });
      return t.ms;
    };
    // A RUNNING ask/tell study is an active one: the runner keeps its caches (it forgets inactive studies' at each reconcile).
    await redis.sadd(keys.activeStudies(prefix), id);
    const cold = await askAndTell();
    // The suggestion thread's JIT warms up over the first asks; a long study's asks are all warm.
    for (let i = 0; i < 10; i++) await askAndTell();
    const asks: number[] = [];
    for (let i = 0; i < (o.asks ?? 30); i++) asks.push(await askAndTell());
    const rssBounded = rssBytes(coordinator.pid!);
    // The whole history per ask costs seconds at 100,000 trials: a few asks say enough (0 skips them).
    const unbounded = o.unboundedAsks ?? 3;
    let coldFull = NaN;
    if (unbounded > 0) {
      // The window lifted: a fresh coordinator reads the changed spec (and, like the bounded one, starts cold).
      await setAlgorithm({ historyBest: 100_000, historyRecent: 100_000 });
      coordinator.kill('SIGTERM');
      await exited(coordinator);
      coordinator = await start();
      coldFull = await askAndTell();
    }
    const full: number[] = [];
    for (let i = 0; i < unbounded; i++) full.push(await askAndTell());
    const a = timing(asks);
    const af = timing(full);
    figures.push(
      { key: 'big.tpeAsk.p50', label: `tpe ask at ${o.trials} finished trials (history window: best 200 + last 1,000), p50`, value: r2(a.p50), unit: 'ms',
        ...(unbounded > 0 ? { against: { label: 'the same ask with the window lifted (the whole history), p50', value: r2(af.p50) } } : {}), target: { text: `< ${TARGETS.askMs} ms`, met: a.p50 < TARGETS.askMs } },
      { key: 'big.tpeAsk.p99', label: `tpe ask at ${o.trials} finished trials, p99 of ${a.n}`, value: r2(a.p99), unit: 'ms', target: { text: `< ${TARGETS.askMs} ms`, met: a.p99 < TARGETS.askMs } },
      { key: 'big.tpeAsk.cold', label: 'first tpe ask after the coordinator started (starts the suggestion thread, reads the history list in parts of 10,000)', value: r2(cold), unit: 'ms',
        ...(unbounded > 0 ? { against: { label: 'first ask with the window lifted', value: r2(coldFull) } } : {}) },
    );

    // ---- memory ----
    figures.push(
      { key: 'big.redisBytesPerTrial', label: `Redis used_memory per trial (trial hash, ${o.curvePoints ?? 50}-point curve, history entry, state index)`, value: Math.round((after - before) / o.trials), unit: 'B' },
      { key: 'big.stateIndexBytesPerTrial', label: 'of which the state index (MEMORY USAGE of its zset)', value: r2(indexBytes / o.trials), unit: 'B' },
      { key: 'big.coordinatorRss', label: `coordinator RSS after summary, pages and bounded tpe asks at ${o.trials} trials`, value: Math.round(rssBounded / 2 ** 20), unit: 'MB',
        ...(unbounded > 0 ? { against: { label: `after the unbounded asks too (${o.trials} trials cached)`, value: Math.round(rssBytes(coordinator.pid!) / 2 ** 20) } } : {}) },
    );
    const del = await timed(() => httpRequest(agent, base, 'DELETE', `/api/v1/studies/${id}?force=true`, { token: TEST_ADMIN_TOKEN }));
    notes.push(`deleting the study over the API: ${del.value.status}, ${Math.round(del.ms)} ms`);
    return { name: 'big-study', settings: { trials: o.trials, curvePoints: o.curvePoints ?? 50, samples: o.samples ?? 50, pagesPerState: o.pages ?? 20, asks: o.asks ?? 30 }, figures, notes };
  } finally {
    agent.destroy();
    await killAll(children);
    await Promise.all(children.map(exited));
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
  };
  let local: LocalRedis | undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-big-study-redis-'));
  try {
    const url = arg('redis-url', process.env.REDIS_URL ?? '') || (local = await startLocalRedis({ dataDir })).url;
    const sec = await runBigStudy({ redisUrl: url, trials: Number(arg('trials', '100000')), samples: Number(arg('samples', '50')) });
    process.stdout.write(`${sectionMarkdown(sec)}\n`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/big-study.json', `${JSON.stringify(sec, null, 2)}\n`);
    writeFileSync('bench/results/big-study.md', sectionMarkdown(sec));
  } finally {
    await local?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
