/**
 * The reference reader for early-stopping rules (tests and bench:stopping-scale compare the
 * indexed decider, coordinator/stopping/decider.ts, against it; the coordinator no longer uses
 * it: it costs 2N commands per refresh): every trial of a study with its state and its objective
 * reports as losses. Read incrementally from Redis; trials in a final state never change, so
 * they are read once, and each refresh touches only the trials still in play. A cache only:
 * a restarted coordinator rebuilds it on first use.
 */
import type { Direction } from '../../shared/study-spec.js';
import { FINAL_TRIAL_STATES, type IntermediateValue, type TrialState } from '../../shared/trial.js';
import type { StoppingTrialView } from '../stopping/rule.js';
import type { StudyStore } from '../store/study-store-contract.js';

interface Entry { number: number; state: TrialState; intermediate: IntermediateValue[] }

export class StudyCurves {
  private readonly byStudy = new Map<string, Map<number, Entry>>();

  constructor(private readonly store: StudyStore) {}

  /** All trials 0..created-1 of the study, fresh. */
  async views(studyId: string, created: number, direction: Direction): Promise<StoppingTrialView[]> {
    let entries = this.byStudy.get(studyId);
    if (!entries) this.byStudy.set(studyId, (entries = new Map()));
    const stale: number[] = [];
    for (let n = 0; n < created; n++) {
      const e = entries.get(n);
      if (!e || !FINAL_TRIAL_STATES.includes(e.state)) stale.push(n);
    }
    const trials = await this.store.getTrials(studyId, stale);
    const sign = direction === 'maximize' ? -1 : 1;
    await Promise.all(trials.map(async (t) => {
      let e = entries.get(t.number);
      if (!e) entries.set(t.number, (e = { number: t.number, state: t.state, intermediate: [] }));
      // Refreshes may overlap (two streams of one study): place each report by its index in
      // the list, so a report read twice is still stored once.
      const from = e.intermediate.length;
      const fresh = await this.store.readObjective(studyId, t.number, from);
      fresh.forEach((p, i) => {
        if (from + i === e.intermediate.length) e.intermediate.push({ step: p.step, value: sign * p.value });
      });
      e.state = t.state;
    }));
    return [...entries.values()].filter((e) => e.number < created).sort((a, b) => a.number - b.number);
  }

  forget(studyId: string): void {
    this.byStudy.delete(studyId);
  }
}
