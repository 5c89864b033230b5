/**
 * The samplers' view of a study's finished trials, read incrementally from the Redis history
 * list. It is only a cache: a restarted coordinator rebuilds it from Redis on first use.
 *
 * A sampler with a history window (SamplerFactory.historyWindow) gets only its best-ranked and
 * most recent trials; the cache keeps only those (a sorted array of the best, a short list of the
 * recent), updated as entries arrive, so a 100,000-trial study costs O(best + recent) memory and
 * an ask copies no more. Both are functions of the history list alone, so every replica, and a
 * restarted one, hands the sampler the same trials.
 */
import type { Direction } from '../../shared/study-spec.js';
import type { FrozenTrial } from '../../shared/trial.js';
import type { HistoryEntry } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import { compareRankKeys, rankKey, type RankKey } from '../search/ranking.js';
import type { HistoryWindow } from '../search/sampler.js';

/** History entries read per round trip (a first read of a long study goes in parts, never all at once). */
const READ_CHUNK = 10_000;

interface Ranked { key: RankKey; t: FrozenTrial }

interface Entry {
  read: number;
  direction: Direction;
  window: HistoryWindow | undefined;
  /** Every finished trial (no window). */
  all: FrozenTrial[];
  /** The best `window.best` ranked trials, best first (ties: lower number first). */
  best: Ranked[];
  /** The last finished trials, oldest first; trimmed to `window.recent` in batches. */
  recent: FrozenTrial[];
  /** What the sampler gets, rebuilt only when entries arrived. */
  view: FrozenTrial[] | undefined;
  refreshing: Promise<void> | undefined;
}

const compareRanked = (a: Ranked, b: Ranked) => compareRankKeys(a.key, b.key) || a.t.number - b.t.number;

export class HistoryCache {
  private readonly byStudy = new Map<string, Entry>();

  constructor(private readonly store: StudyStore) {}

  /**
   * The finished trials the study's sampler sees: all of them in completion order, or with
   * `window` its best and most recent in trial-number order. Never mutated once returned (a new
   * array replaces it when entries arrive), so callers pass it on without copying.
   */
  async trials(studyId: string, direction: Direction, window?: HistoryWindow): Promise<readonly FrozenTrial[]> {
    let entry = this.byStudy.get(studyId);
    if (!entry || entry.direction !== direction || entry.window?.best !== window?.best || entry.window?.recent !== window?.recent) {
      entry = { read: 0, direction, window, all: [], best: [], recent: [], view: undefined, refreshing: undefined };
      this.byStudy.set(studyId, entry);
    }
    // Refreshes of one study may overlap (ask/tell, two fills): they share one read.
    const e = entry;
    e.refreshing ??= this.refresh(studyId, e).finally(() => { e.refreshing = undefined; });
    await e.refreshing;
    return (e.view ??= this.buildView(e));
  }

  private async refresh(studyId: string, e: Entry): Promise<void> {
    for (;;) {
      const fresh = await this.store.readHistory(studyId, e.read, READ_CHUNK);
      if (this.byStudy.get(studyId) !== e) return; // forgotten meanwhile
      e.read += fresh.length;
      for (const h of fresh) this.add(e, h);
      if (fresh.length > 0) e.view = undefined;
      if (fresh.length < READ_CHUNK) return;
    }
  }

  private add(e: Entry, h: HistoryEntry): void {
    if (h.s !== 'COMPLETED' && h.s !== 'FAILED' && h.s !== 'PRUNED') return;
    const sign = e.direction === 'maximize' ? -1 : 1;
    const t: FrozenTrial = { number: h.n, params: h.p, state: h.s };
    if (h.s === 'COMPLETED' && h.v !== undefined) t.loss = sign * h.v;
    if (h.s === 'PRUNED' && h.v !== undefined) t.intermediate = [{ step: h.t ?? 0, value: sign * h.v }];
    const w = e.window;
    if (!w) {
      e.all.push(t);
      return;
    }
    if (w.recent > 0) {
      e.recent.push(t);
      if (e.recent.length >= 2 * w.recent) e.recent.splice(0, e.recent.length - w.recent);
    }
    const key = w.best > 0 ? rankKey(t) : null;
    if (!key) return;
    const r: Ranked = { key, t };
    const best = e.best;
    if (best.length >= w.best && compareRanked(r, best[best.length - 1]!) >= 0) return;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareRanked(best[mid]!, r) < 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, r);
    if (best.length > w.best) best.pop();
  }

  private buildView(e: Entry): FrozenTrial[] {
    if (!e.window) return e.all.slice();
    const byNumber = new Map<number, FrozenTrial>();
    for (const r of e.best) byNumber.set(r.t.number, r.t);
    for (const t of e.recent.slice(-e.window.recent)) byNumber.set(t.number, t);
    return [...byNumber.values()].sort((a, b) => a.number - b.number);
  }

  /** Trials held for a study (memory: bounded by its window, when it has one). */
  held(studyId: string): number {
    const e = this.byStudy.get(studyId);
    return e ? e.all.length + e.best.length + e.recent.length : 0;
  }

  studies(): string[] {
    return [...this.byStudy.keys()];
  }

  forget(studyId: string): void {
    this.byStudy.delete(studyId);
  }
}
