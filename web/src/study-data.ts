/**
 * A study's trials in the browser: columnar rows from `GET /studies/:id/table`, merged in place
 * by incremental fetches (cursors afterNumber/afterHistory), adapted to RunView-shaped rows so
 * the server's filter grammar (shared/run-filter) is evaluated here with the same code.
 */
import { enc, get, getOptional } from './api.js';
import type { RunView } from '../../shared/run-model.js';
import { RUN_STATUS_OF_TRIAL } from '../../shared/run-model.js';
import type { TrialState } from '../../shared/trial.js';

export type ParamValue = string | number | boolean | null;
export interface Trial { number: number; state: string; value: number | null; params: Record<string, ParamValue>; startedAt: number | null; finishedAt: number | null }
export interface TableReply {
  afterNumber: number; afterHistory: number; total: number; finished: number; sampled: boolean; paramNames: string[];
  rows: { number: number[]; state: string[]; value: (number | null)[]; params: Record<string, ParamValue[]>; startedAt: (number | null)[]; finishedAt: (number | null)[] };
}

export class StudyTrials {
  readonly byNumber = new Map<number, Trial>();
  paramNames: string[] = [];
  sampled = false;
  total = 0;
  afterNumber = -1;
  afterHistory = 0;
  /** True when the coordinator has no table route: pages of /trials instead. */
  legacy = false;
  version = 0;

  constructor(readonly studyId: string, readonly metric: string) {}

  get trials(): Trial[] { return [...this.byNumber.values()].sort((a, b) => a.number - b.number); }

  /** First call: everything (or the server's sample); later calls: what changed since the cursors. */
  async refresh(): Promise<void> {
    if (!this.legacy) {
      const q = this.afterNumber < 0 ? '' : `?afterNumber=${this.afterNumber}&afterHistory=${this.afterHistory}`;
      const r = await getOptional<TableReply>(`/api/v1/studies/${enc(this.studyId)}/table${q}`);
      if (r) { this.merge(r); return; }
      this.legacy = true;
    }
    await this.refreshLegacy();
  }

  merge(r: TableReply): void {
    const c = r.rows;
    for (let i = 0; i < c.number.length; i++) {
      const params: Record<string, ParamValue> = {};
      for (const p of r.paramNames) { const v = c.params[p]?.[i]; if (v !== undefined && v !== null) params[p] = v; }
      this.byNumber.set(c.number[i]!, { number: c.number[i]!, state: c.state[i]!, value: c.value[i] ?? null, params, startedAt: c.startedAt[i] ?? null, finishedAt: c.finishedAt[i] ?? null });
    }
    this.paramNames = [...new Set([...this.paramNames, ...r.paramNames])];
    this.sampled = r.sampled;
    this.total = r.total;
    this.afterNumber = r.afterNumber;
    this.afterHistory = r.afterHistory;
    this.version++;
  }

  private async refreshLegacy(): Promise<void> {
    const names = new Set(this.paramNames);
    const page = (offset: number) => get<any>(`/api/v1/studies/${enc(this.studyId)}/trials?offset=${offset}&limit=1000`);
    const add = (p: any) => {
      for (const t of p.trials) {
        for (const k of Object.keys(t.params ?? {})) names.add(k);
        this.byNumber.set(t.number, { number: t.number, state: t.state, value: t.value ?? null, params: t.params ?? {}, startedAt: t.startedAt ? Date.parse(t.startedAt) : null, finishedAt: t.finishedAt ? Date.parse(t.finishedAt) : null });
      }
    };
    // The first page says how many there are; the rest are fetched 4 at a time.
    const first = await page(0);
    add(first);
    this.total = first.total;
    const offsets: number[] = [];
    for (let o = first.trials.length; o < first.total && offsets.length < 1000; o += 1000) offsets.push(o);
    for (let i = 0; i < offsets.length; i += 4) for (const p of await Promise.all(offsets.slice(i, i + 4).map(page))) add(p);
    this.paramNames = [...names].sort();
    this.version++;
  }
}

/** A trial as the filter grammar sees a run: params as strings, the objective as a metric. */
export function asRunView(studyId: string, metric: string, project: string, t: Trial): RunView {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(t.params)) if (v !== null) params[k] = String(v);
  return {
    id: `${studyId}.${t.number}`, experimentId: studyId, project, name: `trial ${t.number}`, kind: 'trial',
    status: RUN_STATUS_OF_TRIAL[t.state as TrialState] ?? 'RUNNING', state: t.state,
    startTime: t.startedAt, endTime: t.finishedAt, parentRunId: null, params,
    metrics: t.value === null ? {} : { [metric]: { value: t.value, step: 0, timestamp: t.finishedAt ?? 0 } },
    tags: {}, note: '', provenance: null, studyId, trialNumber: t.number, rerunOf: null,
  };
}

/** Best-so-far in trial-number order, for the history plot when the server has no history route. */
export function bestSoFar(trials: Trial[], minimize: boolean): Array<{ number: number; value: number }> {
  const out: Array<{ number: number; value: number }> = [];
  let best: number | undefined;
  for (const t of trials) {
    if (t.state !== 'COMPLETED' || t.value === null) continue;
    if (best === undefined || (minimize ? t.value < best : t.value > best)) best = t.value;
    out.push({ number: t.number, value: best });
  }
  return out;
}

export function toCsv(trials: Trial[], paramNames: string[], metric: string): string {
  const esc = (v: unknown) => { const s = v === null || v === undefined ? '' : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  const head = ['number', 'state', metric, ...paramNames.map((p) => `params.${p}`), 'started_at', 'finished_at'];
  const lines = [head.map(esc).join(',')];
  for (const t of trials) {
    lines.push([t.number, t.state, t.value, ...paramNames.map((p) => t.params[p] ?? null),
      t.startedAt !== null ? new Date(t.startedAt).toISOString() : '', t.finishedAt !== null ? new Date(t.finishedAt).toISOString() : ''].map(esc).join(','));
  }
  return lines.join('\n') + '\n';
}
