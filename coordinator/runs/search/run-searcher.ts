/**
 * Run search across experiments (RunStore.search): one searchRuns-3.lua call per experiment the
 * caller may read (pipelined: one round trip), each returning its first pageSize+1 runs after the
 * cursor, merged here in the same order. The page token is the last run's order values and id
 * (keyset pagination: runs inserted meanwhile sort before or after it, never shift it), bound
 * to the query it was made for.
 */
import { type RedisClient, spreadPipeline } from '../../../shared/redis.js';
import { TunehiveError } from '../../../shared/errors.js';
import { keys, runDocKeyParts } from '../../../shared/redis-keys.js';
import type { Filter, OrderKey } from '../../../shared/run-filter/ast.js';
import { compareStrings } from '../../../shared/run-filter/evaluate.js';
import { EXPERIMENT_ID, type RunView } from '../../../shared/run-model.js';
import type { RedisStudyStore } from '../../store/study-store.js';
import type { RunSearch } from '../run-store-contract.js';
import { bindExperiment, buildPlan, DEFAULT_ORDER, isNumericKey, type IndexKeys } from './plan.js';
import { decodePageToken, encodePageToken, queryFingerprint, type PageCursor } from './page-token.js';

export interface SearchRow { id: string; v: Array<string | null> }
/** What one search did, for the bench and the logs. */
export interface SearchStats { experiments: number; plans: string[]; read: number }

interface RunReader { getRuns(ids: readonly string[]): Promise<Array<RunView | undefined>> }

export class RunSearcher {
  private readonly redis: RedisClient;
  private readonly p: string;
  lastStats: SearchStats = { experiments: 0, plans: [], read: 0 };

  constructor(private readonly studies: RedisStudyStore, private readonly runs: RunReader) {
    this.redis = studies.redis;
    this.p = studies.prefix;
  }

  async search(q: RunSearch): Promise<{ runs: RunView[]; nextPageToken: string | null }> {
    const { rows, next } = await this.searchIds(q);
    const views = await this.runs.getRuns(rows.map((r) => r.id));
    return { runs: views.filter((v): v is RunView => v !== undefined), nextPageToken: next };
  }

  /** The ids (and order values) of one page, without reading the runs. */
  async searchIds(q: RunSearch): Promise<{ rows: SearchRow[]; next: string | null }> {
    const pageSize = q.pageSize;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw invalid('query.pageSize', 'must be an integer from 1 to 1000');
    const order = q.orderBy && q.orderBy.length > 0 ? q.orderBy : DEFAULT_ORDER;
    const fp = queryFingerprint(q.filter, order, q.experimentIds);
    const cursor = q.pageToken ? decodePageToken(q.pageToken, fp, order.length) : undefined;
    const experiments = await this.experimentsOf(q);
    const parts: Array<{ e: string; filter: Filter | undefined; cursor: PageCursor | undefined; buf: SearchRow[]; done: boolean }> = [];
    for (const e of experiments) {
      const bound = bindExperiment(q.filter, e);
      if (bound === false) continue;
      parts.push({ e, filter: bound === true ? undefined : bound, cursor, buf: [], done: false });
    }
    // A merge across experiments that asks each for only part of a page: first about its share,
    // then more (doubling) from those whose rows ran out before the page was decided. A row is
    // final once it sorts at or before the last row fetched from every experiment not exhausted.
    const need = pageSize + 1;
    const stats: SearchStats = { experiments: parts.length, plans: [], read: 0 };
    const out: SearchRow[] = [];
    let per = Math.max(8, Math.ceil((need * 1.2) / Math.max(1, parts.length)) + 1);
    const cmp = (a: SearchRow, b: SearchRow) => compareRows(a, b, order);
    for (let round = 0; round < 64 && out.length < need; round++) {
      const fetch = parts.filter((x) => !x.done && x.buf.length === 0);
      if (fetch.length > 0) {
        // Refills ask for what the page still lacks, shared by the experiments that ran dry, and
        // grow each round, so a page held by one experiment still needs only a few rounds.
        if (round > 0) per = Math.max(Math.ceil(per * 1.5), Math.ceil(((need - out.length) * 1.5) / fetch.length));
        const limit = Math.min(need, per);
        const pipe = spreadPipeline(this.redis) as unknown as Record<string, (...a: (string | number)[]) => unknown> & { exec(): Promise<Array<[Error | null, unknown]> | null> };
        for (const x of fetch) {
          const { plan, keys: keyList } = buildPlan({ filter: x.filter, order, limit, keys: this.indexKeys(x.e), experimentId: x.e, docParts: runDocKeyParts(this.p, x.e), ...(x.cursor ? { cursor: x.cursor } : {}) });
          pipe.th_searchRuns!(keyList.length, ...keyList, JSON.stringify(plan));
        }
        const replies = (await pipe.exec()) ?? [];
        fetch.forEach((x, i) => {
          const [err, reply] = replies[i] ?? [new Error('no reply'), []];
          if (err) throw err;
          const flat = reply as Array<string | null>;
          stats.plans.push(String(flat[0]));
          stats.read += Number(flat[1]);
          for (let j = 2; j < flat.length; j += 1 + order.length) x.buf.push({ id: flat[j]!, v: flat.slice(j + 1, j + 1 + order.length) });
          if (x.buf.length < limit) x.done = true;
          const last = x.buf[x.buf.length - 1];
          if (last) x.cursor = { v: last.v, id: last.id };
        });

      }
      // The frontier: nothing unfetched sorts before the last row fetched from an unexhausted experiment.
      let frontier: SearchRow | undefined;
      for (const x of parts) {
        if (x.done || !x.cursor) continue;
        const last = { v: x.cursor.v, id: x.cursor.id };
        if (!frontier || cmp(last, frontier) < 0) frontier = last;
      }
      for (;;) {
        let best: (typeof parts)[number] | undefined;
        for (const x of parts) if (x.buf.length > 0 && (!best || cmp(x.buf[0]!, best.buf[0]!) < 0)) best = x;
        if (!best || out.length >= need) break;
        if (frontier && cmp(best.buf[0]!, frontier) > 0) break;
        out.push(best.buf.shift()!);
      }
      if (parts.every((x) => x.done && x.buf.length === 0)) break;
    }
    this.lastStats = stats;
    const rows = out.slice(0, pageSize);
    const last = rows[rows.length - 1];
    return { rows, next: out.length > pageSize && last ? encodePageToken({ v: last.v, id: last.id }, fp) : null };
  }

  private indexKeys(e: string): IndexKeys {
    const p = this.p;
    return {
      all: keys.runIndexAll(p, e), names: keys.runIndexNames(p, e), experiment: keys.experiment(p, e),
      metric: (n) => keys.runIndexMetric(p, e, n), param: (n) => keys.runIndexParam(p, e, n), tag: (n) => keys.runIndexTag(p, e, n),
      start: keys.runIndexStart(p, e), end: keys.runIndexEnd(p, e), status: (s) => keys.runIndexStatus(p, e, s),
    };
  }

  /** The Redis client and key prefix (the export reads the searched experiments' index names). */
  get redisClient(): RedisClient { return this.redis; }
  get keyPrefix(): string { return this.p; }

  /** The experiments a search reads. */
  experiments(q: RunSearch): Promise<string[]> {
    return this.experimentsOf(q);
  }

  /** The experiments searched: those named (in a readable project), or every one of the readable projects. */
  private async experimentsOf(q: RunSearch): Promise<string[]> {
    const p = this.p;
    const allowed = q.projects === undefined ? undefined : new Set(q.projects);
    if (q.experimentIds && q.experimentIds.length > 0) {
      const ids = [...new Set(q.experimentIds)].filter((id) => EXPERIMENT_ID.test(id));
      if (!allowed) return ids;
      const pipe = spreadPipeline(this.redis);
      for (const id of ids) pipe.hget(keys.experiment(p, id), 'project').hget(keys.study(p, id), 'project');
      const rows = (await pipe.exec()) ?? [];
      return ids.filter((_, i) => {
        const project = (rows[2 * i]?.[1] as string | null) ?? (rows[2 * i + 1]?.[1] as string | null);
        return project !== null && allowed.has(project);
      });
    }
    const projects = q.projects ?? (await this.redis.zrange(keys.projects(p), '0', '-1'));
    const pipe = spreadPipeline(this.redis);
    for (const name of projects) pipe.zrange(keys.projectExperiments(p, name), '0', '-1').zrange(keys.projectStudies(p, name), '0', '-1');
    // Admins also see studies from before projects existed (they are adopted into "default" at start).
    if (q.projects === undefined) pipe.zrange(keys.studies(p), '0', '-1');
    const out = new Set<string>();
    for (const [err, v] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      for (const id of v as string[]) out.add(id);
    }
    return [...out].sort();
  }
}

/** The script's order on its returned values: missing last in both directions, then run id ascending. */
export function compareRows(a: SearchRow, b: SearchRow, order: readonly OrderKey[]): number {
  for (let i = 0; i < order.length; i++) {
    const x = a.v[i] ?? null;
    const y = b.v[i] ?? null;
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1;
      continue;
    }
    const k = order[i]!;
    const c = isNumericKey(k.key) ? Math.sign(Number(x) - Number(y)) : compareStrings(x, y);
    if (c !== 0) return k.direction === 'DESC' ? -c : c;
  }
  return compareStrings(a.id, b.id);
}

function invalid(field: string, reason: string): TunehiveError {
  return new TunehiveError('TH_ERR_REQUEST_INVALID', `${field}: ${reason}`, [{ field, reason }]);
}
