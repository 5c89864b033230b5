/**
 * The trials of a study as columns, for the dashboard's table and the plots it draws itself
 * (parallel coordinates, slice, contour), read incrementally.
 *
 * The change log is the study's history list (finished trials in completion order: a finished
 * trial never changes again), so a client holding cursors (the highest trial number it has, the
 * history length it has read) gets, in one call: trials created since, trials finished since,
 * and the trials pending or paused now. One MULTI reads the cursors, the new history entries and
 * the pending and paused sets together (all in the study's hash slot), so the reply is one
 * snapshot: a trial the client held as pending that is in none of them has ended without a
 * history entry (a QUEUED trial CANCELLED when its study ended). A live trial that finished after
 * the snapshot is still reported live (its state then comes again, once, from the history).
 *
 * Above `sample` rows a first load sends a stratified sample instead: every live trial, the best
 * completed ones, and per state an evenly spaced pick in trial-number order, proportional to the
 * state's count, so the plots keep their shape and the optimum is always in them.
 */
import type { RedisClient } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';
import type { HistoryEntry } from '../store/study-store.js';
import type { HistoryCache } from './history-cache.js';
import { FINAL_TRIAL_STATES } from '../../shared/trial.js';

export type Cell = string | number | boolean | null;
export interface TableColumns {
  number: number[]; state: string[]; value: Array<number | null>; params: Record<string, Cell[]>;
  startedAt: Array<number | null>; finishedAt: Array<number | null>;
}
export interface StudyTable {
  afterNumber: number; afterHistory: number; total: number; finished: number; sampled: boolean; paramNames: string[]; rows: TableColumns;
}
export interface TableQuery { afterNumber?: number; afterHistory?: number; sample?: number }

export const TABLE_SAMPLE_DEFAULT = 20_000;
/** Share of a sample given to the best completed trials. */
const BEST_SHARE = 0.1;
const FINAL = new Set<string>(FINAL_TRIAL_STATES);

interface Row { number: number; state: string; value: number | null; params: Record<string, unknown>; startedAt: number | null; finishedAt: number | null }

const num = (v: string | null | undefined): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

export class StudyTableReader {
  /**
   * Start and end times of finished trials, per study (a finished trial never changes): a
   * repeated load of a big study reads only the times of trials finished since. LRU-bounded.
   */
  private readonly times = new Map<string, Map<number, [number | null, number | null]>>();

  constructor(private readonly redis: RedisClient, private readonly prefix: string, private readonly history?: HistoryCache, private readonly maxStudies = 8) {}

  private timesOf(studyId: string): Map<number, [number | null, number | null]> {
    const held = this.times.get(studyId) ?? new Map<number, [number | null, number | null]>();
    this.times.delete(studyId);
    this.times.set(studyId, held);
    while (this.times.size > this.maxStudies) this.times.delete(this.times.keys().next().value!);
    return held;
  }

  async read(studyId: string, direction: 'minimize' | 'maximize', q: TableQuery): Promise<StudyTable> {
    const p = this.prefix;
    const incremental = q.afterNumber !== undefined || q.afterHistory !== undefined;
    const afterNumber = q.afterNumber ?? -1;
    const from = Math.max(0, q.afterHistory ?? 0);
    // A first load takes the history from the in-memory cache (extended from its tail) rather
    // than the whole list again: the list only grows, so its first historyLen entries are the snapshot's.
    const cached = !incremental && this.history !== undefined;
    const snap = (await this.redis.multi()
      .hget(keys.study(p, studyId), 'nextNumber')
      .llen(keys.history(p, studyId))
      .lrange(keys.history(p, studyId), cached ? 1 : from, cached ? 0 : -1)
      .smembers(keys.pending(p, studyId))
      .smembers(keys.paused(p, studyId))
      .exec()) ?? [];
    for (const [err] of snap) if (err) throw err;
    const created = Number(snap[0]?.[1] ?? 0);
    const historyLen = Number(snap[1]?.[1] ?? 0);
    // LLEN and LRANGE in one MULTI: the entries are exactly those from `from` to historyLen.
    const entries = cached
      ? await this.historyUpTo(studyId, historyLen)
      : ((snap[2]?.[1] ?? []) as string[]).map((r) => JSON.parse(r) as HistoryEntry);
    const pending = new Set(((snap[3]?.[1] ?? []) as string[]).map(Number));
    const paused = new Set(((snap[4]?.[1] ?? []) as string[]).map(Number));

    const finishedNow = new Map<number, HistoryEntry>();
    for (const e of entries) finishedNow.set(e.n, e);
    // Trials to read whole: live now, and (new ones, or all on a first load) ended without a history entry.
    const live = new Set<number>([...pending, ...paused]);
    const lo = incremental ? afterNumber + 1 : 0;
    const others: number[] = [];
    // New trials (all on a first load) neither finished nor live ended without a history entry.
    for (let n = Math.max(0, lo); n < created; n++) if (!live.has(n) && !finishedNow.has(n)) others.push(n);
    let finished = [...finishedNow.values()];
    let liveList = [...live].sort((a, b) => a - b);
    let sampled = false;
    const sampleSize = q.sample ?? TABLE_SAMPLE_DEFAULT;
    if (!incremental && finished.length + liveList.length + others.length > sampleSize) {
      sampled = true;
      ({ finished, liveList } = sample(finished, liveList, sampleSize, direction));
    }
    const rows = await this.rows(studyId, finished, liveList, incremental ? others : sampled ? [] : others, pending, paused);
    rows.sort((a, b) => a.number - b.number);
    return { afterNumber: created - 1, afterHistory: historyLen, total: created, finished: historyLen, sampled, ...columns(rows) };
  }

  /**
   * The first `len` history entries. The cache may answer with a read that began before this
   * request's snapshot (a concurrent refresh it joined): the entries it lacks are read here.
   */
  private async historyUpTo(studyId: string, len: number): Promise<HistoryEntry[]> {
    const have = await this.history!.get(studyId);
    if (have.length >= len) return have.slice(0, len);
    const rest = await this.redis.lrange(keys.history(this.prefix, studyId), have.length, len - 1);
    return have.concat(rest.map((r) => JSON.parse(r) as HistoryEntry));
  }

  /** History entries need only their times; live and other trials are read whole (HMGET, one pipeline). */
  private async rows(studyId: string, finished: HistoryEntry[], live: number[], others: number[], pending: Set<number>, paused: Set<number>): Promise<Row[]> {
    const p = this.prefix;
    const out: Row[] = [];
    const CHUNK = 5000;
    const times = this.timesOf(studyId);
    const missing = finished.filter((e) => !times.has(e.n));
    for (let i = 0; i < missing.length; i += CHUNK) {
      const part = missing.slice(i, i + CHUNK);
      const pipe = this.redis.pipeline();
      for (const e of part) pipe.hmget(keys.trial(p, studyId, e.n), 'startedAt', 'finishedAt');
      const got = (await pipe.exec()) ?? [];
      part.forEach((e, j) => {
        const [s, f] = (got[j]?.[1] ?? []) as Array<string | null>;
        times.set(e.n, [num(s), num(f)]);
      });
    }
    for (const e of finished) {
      const [s, f] = times.get(e.n) ?? [null, null];
      out.push({ number: e.n, state: e.s, value: e.s === 'COMPLETED' && e.v !== undefined ? e.v : null, params: e.p, startedAt: s, finishedAt: f });
    }
    const whole = [...live, ...others];
    for (let i = 0; i < whole.length; i += CHUNK) {
      const part = whole.slice(i, i + CHUNK);
      const pipe = this.redis.pipeline();
      for (const n of part) pipe.hmget(keys.trial(p, studyId, n), 'state', 'params', 'value', 'startedAt', 'finishedAt');
      const got = (await pipe.exec()) ?? [];
      part.forEach((n, j) => {
        const [state, params, value, s, f] = (got[j]?.[1] ?? []) as Array<string | null>;
        if (state === null || state === undefined) return; // deleted meanwhile
        const row: Row = { number: n, state, value: state === 'COMPLETED' ? num(value) : null, params: JSON.parse(params ?? '{}') as Record<string, unknown>, startedAt: num(s), finishedAt: num(f) };
        // As of the snapshot: a live trial that has finished since comes again from the history.
        if ((pending.has(n) || paused.has(n)) && FINAL.has(state)) {
          row.state = paused.has(n) ? 'PAUSED' : 'RUNNING';
          row.value = null;
          row.finishedAt = null;
        }
        out.push(row);
      });
    }
    return out;
  }
}

/**
 * The stratified sample: every live trial; the best completed ones (a tenth of the budget);
 * the rest split over the states in proportion to their counts, evenly spaced in number order.
 * Deterministic, so two loads of the same study show the same points.
 */
export function sample(finished: HistoryEntry[], live: number[], size: number, direction: 'minimize' | 'maximize'): { finished: HistoryEntry[]; liveList: number[] } {
  const liveList = live.slice(0, size);
  let budget = Math.max(0, size - liveList.length);
  const completed = finished.filter((e) => e.s === 'COMPLETED' && typeof e.v === 'number');
  const sign = direction === 'minimize' ? 1 : -1;
  const best = completed.sort((a, b) => sign * (a.v! - b.v!) || a.n - b.n).slice(0, Math.min(completed.length, Math.floor(budget * BEST_SHARE)));
  const chosen = new Set(best.map((e) => e.n));
  budget -= best.length;
  const byState = new Map<string, HistoryEntry[]>();
  for (const e of finished) {
    if (chosen.has(e.n)) continue;
    const l = byState.get(e.s);
    if (l) l.push(e);
    else byState.set(e.s, [e]);
  }
  const rest = finished.length - best.length;
  const out = [...best];
  for (const list of byState.values()) {
    list.sort((a, b) => a.n - b.n);
    const k = Math.min(list.length, Math.floor((budget * list.length) / Math.max(1, rest)));
    for (let i = 0; i < k; i++) out.push(list[Math.floor((i * list.length) / k)]!);
  }
  return { finished: out, liveList };
}

/** Rows to columns; params as one column per name (null where a trial lacks it: conditional spaces). */
export function columns(rows: Row[]): { paramNames: string[]; rows: TableColumns } {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.params)) names.add(k);
  const paramNames = [...names].sort();
  const params: Record<string, Cell[]> = {};
  for (const k of paramNames) params[k] = new Array<Cell>(rows.length).fill(null);
  const c: TableColumns = { number: [], state: [], value: [], params, startedAt: [], finishedAt: [] };
  rows.forEach((r, i) => {
    c.number.push(r.number);
    c.state.push(r.state);
    c.value.push(r.value);
    c.startedAt.push(r.startedAt);
    c.finishedAt.push(r.finishedAt);
    for (const [k, v] of Object.entries(r.params)) params[k]![i] = (v === undefined ? null : v) as Cell;
  });
  return { paramNames, rows: c };
}
