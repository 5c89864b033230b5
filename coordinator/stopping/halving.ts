/**
 * Asynchronous successive halving (ASHA, Li et al. 2020), shared by the `asha` and `hyperband`
 * rules; they differ only in how many brackets there are and how trials are spread over them.
 *
 * Terms. Each trial belongs to a bracket (from its number, see brackets.ts) with rung budgets
 * b_0 < b_1 < ... < b_last < R (R = maxResource). A trial REACHES rung k with its first report
 * (in recorded order) at a step >= b_k; that report's loss is its RUNG VALUE at k (NaN = worst).
 * The rung's COMPETITORS are all trials of the same bracket, in any state, that reached it,
 * ranked by (rung value, trial number). Its QUOTA is floor(n / η) of its n competitors.
 *
 * mode "pause" (true ASHA: trials are suspended and resumed from checkpoints):
 * - A new trial is started with budget b_0 (`nextWork` -> new); a promoted one is resumed with
 *   the next rung's budget, or R after the last rung (`nextWork` -> promote).
 * - `decide` answers PAUSE to the report with which the trial reaches a rung (the highest one, if
 *   a report skips several), and CONTINUE to every other report. Reaching R is not a rung: the
 *   program finishes on its own and the trial completes. A resumed program that re-reports old
 *   steps is not paused again, because only the FIRST report at or past a rung counts.
 * - `nextWork`: a PAUSED trial whose highest reached rung is k is PROMOTABLE when it ranks within
 *   the quota of rung k. Promotions come before new trials: the promotable trial at the rung with
 *   the largest budget (then the lowest bracket, then the best rank) is resumed. Trials promoted
 *   before keep their place in the ranking, so promotions are never undone and a paused trial
 *   becomes promotable later when enough worse trials reach its rung (the quota grows).
 * - Draining: when the runner may start no new trial (`canStartNew: false`), the quota is at
 *   least 1, so each rung's best still moves up and every bracket ends with a trial at R;
 *   `nextWork` answers none when nobody is promotable.
 *
 * mode "prune" (ASHA as an early-stopping rule, like Optuna's SuccessiveHalvingPruner):
 * - New trials run to R in one go (`nextWork` -> new with budget R; nothing is ever promoted).
 * - At the report with which a trial reaches a rung, `decide` ranks it among the rung's
 *   competitors and PRUNES it unless it is within max(1, floor(n / η)): with fewer than η
 *   competitors only the best so far survives, so the first trials are not all cut. Each rung is
 *   judged once, at that report; a report that skips several rungs is judged at each in turn.
 */
import { firstIndexAtOrAfter, asLoss, fmt } from './curve.js';
import type { BracketOf } from './brackets.js';
import type { Decision, NextWork, StoppingRule, StoppingTrialView, WorkContext } from './rule.js';

export type HalvingMode = 'pause' | 'prune';

export interface HalvingConfig {
  eta: number;
  maxResource: number;
  /** rungs[b]: decision budgets of bracket b, ascending, all < maxResource (possibly none). */
  rungs: readonly (readonly number[])[];
  mode: HalvingMode;
  bracketOf: BracketOf;
}

interface Ranked { trial: StoppingTrialView; value: number }

export function halvingRule(cfg: HalvingConfig): StoppingRule {
  const rungValue = (t: StoppingTrialView, budget: number): number | undefined => {
    const i = firstIndexAtOrAfter(t.intermediate, budget);
    return i === -1 ? undefined : asLoss(t.intermediate[i]!.value);
  };
  /** The rung's competitors, best first. */
  const ranking = (trials: readonly StoppingTrialView[], budget: number): Ranked[] => {
    const out: Ranked[] = [];
    for (const trial of trials) {
      const value = rungValue(trial, budget);
      if (value !== undefined) out.push({ trial, value });
    }
    return out.sort((a, b) => a.value - b.value || a.trial.number - b.trial.number);
  };
  const highestRung = (t: StoppingTrialView, rungs: readonly number[]): number => {
    for (let k = rungs.length - 1; k >= 0; k--) if (firstIndexAtOrAfter(t.intermediate, rungs[k]!) !== -1) return k;
    return -1;
  };

  function decide(trial: StoppingTrialView, peers: readonly StoppingTrialView[]): Decision {
    const last = trial.intermediate.length - 1;
    if (last < 0) return { action: 'continue' };
    const b = cfg.bracketOf(trial.number);
    const rungs = cfg.rungs[b]!;
    const reachedNow = rungs.flatMap((budget, k) => (firstIndexAtOrAfter(trial.intermediate, budget) === last ? [k] : []));
    if (reachedNow.length === 0) return { action: 'continue' };

    if (cfg.mode === 'pause') return pauseAt(cfg, b, reachedNow.at(-1)!);
    const competitors = [trial, ...peers.filter((p) => p.number !== trial.number && cfg.bracketOf(p.number) === b)];
    for (const k of reachedNow) {
      const ranked = ranking(competitors, rungs[k]!);
      const place = ranked.findIndex((r) => r.trial === trial);
      const d = pruneAt(cfg, b, k, ranked[place]!.value, place, ranked.length);
      if (d) return d;
    }
    return { action: 'continue' };
  }

  function nextWork(ctx: WorkContext): NextWork {
    let best: { trial: StoppingTrialView; bracket: number; rung: number; place: number } | undefined;
    const better = (bracket: number, rung: number, place: number): boolean => {
      if (!best) return true;
      const [mine, theirs] = [cfg.rungs[bracket]![rung]!, cfg.rungs[best.bracket]![best.rung]!];
      return mine !== theirs ? mine > theirs : bracket !== best.bracket ? bracket < best.bracket : place < best.place;
    };
    if (cfg.mode === 'pause') {
      cfg.rungs.forEach((rungs, bracket) => {
        const members = ctx.trials.filter((t) => cfg.bracketOf(t.number) === bracket);
        rungs.forEach((budget, rung) => {
          const ranked = ranking(members, budget);
          const quota = promotionQuota(cfg, ranked.length, ctx.canStartNew);
          for (let place = 0; place < Math.min(quota, ranked.length); place++) {
            const t = ranked[place]!.trial;
            if (t.state === 'PAUSED' && highestRung(t, rungs) === rung && better(bracket, rung, place)) best = { trial: t, bracket, rung, place };
          }
        });
      });
    }
    if (best) return { kind: 'promote', trialNumber: best.trial.number, budget: budgetAfter(cfg, best.bracket, best.rung), bracket: best.bracket, fromRung: best.rung };
    if (!ctx.canStartNew) return { kind: 'none' };
    const bracket = cfg.bracketOf(ctx.nextTrialNumber);
    const budget = cfg.mode === 'pause' ? (cfg.rungs[bracket]![0] ?? cfg.maxResource) : cfg.maxResource;
    return { kind: 'new', budget, bracket };
  }

  return { decide, nextWork, needsPeers: cfg.mode === 'prune' ? 'rungRanks' : 'none', halving: cfg };
}

/** Resource a trial promoted from rung k of bracket b runs up to. */
export const budgetAfter = (cfg: HalvingConfig, b: number, k: number): number => cfg.rungs[b]![k + 1] ?? cfg.maxResource;

/** Pause mode: the decision for a trial that has just reached rung k of bracket b. */
export function pauseAt(cfg: HalvingConfig, b: number, k: number): Decision & { action: 'pause' } {
  const resumeBudget = budgetAfter(cfg, b, k);
  return { action: 'pause', rung: k, resumeBudget, reason: `reached rung ${k} (step ${fmt(cfg.rungs[b]![k]!)}) of bracket ${b}; paused until it ranks in the top 1/${cfg.eta} there, then resumed up to step ${fmt(resumeBudget)}` };
}

/** Prune mode: a trial at 0-based `place` of the `size` that reached rung k is pruned unless within max(1, floor(size / η)). */
export function pruneAt(cfg: HalvingConfig, b: number, k: number, value: number, place: number, size: number): Decision | undefined {
  const quota = Math.max(1, Math.floor(size / cfg.eta));
  if (place < quota) return undefined;
  return { action: 'prune', reason: `loss ${fmt(value)} at rung ${k} (step ${fmt(cfg.rungs[b]![k]!)}) of bracket ${b} ranks ${place + 1} of ${size}; only the best ${quota} go on` };
}

/** How many of a rung's `size` trials may be promoted from it (at least 1 when draining). */
export const promotionQuota = (cfg: HalvingConfig, size: number, canStartNew: boolean): number =>
  canStartNew ? Math.floor(size / cfg.eta) : Math.max(1, Math.floor(size / cfg.eta));
