/**
 * The decision paths bench/stopping-scale.ts measures. `legacy` is how the coordinator decided
 * before the rung indexes: read every trial's curve (StudyCurves), then the rule's reference
 * `decide` / `nextWork` over all of them. `indexed` is the coordinator's path now
 * (coordinator/stopping/decider.ts): rung and running-average indexes in Redis.
 */
import { StudyCurves } from '../coordinator/runner/study-curves.js';
import { StoppingDecider } from '../coordinator/stopping/decider.js';
import type { StoppingRule } from '../coordinator/stopping/rule.js';
import type { StudyRecord } from '../coordinator/store/study-store.js';
import type { StudyStore } from '../coordinator/store/study-store-contract.js';

export interface BenchImpl {
  /** A peer's curve was just stored (index maintenance, where the path keeps indexes); `pause`: it is also paused at its rung. */
  observe(number: number, pause: boolean): Promise<void>;
  /** Decides on the last `newReports` reports of trial `number`. */
  decide(number: number, newReports: number): Promise<unknown>;
  nextWork(): Promise<unknown>;
}
export interface BenchPath { create(store: StudyStore, rule: StoppingRule, study: StudyRecord): BenchImpl }

const legacy: BenchPath = {
  create(store, rule, study) {
    const curves = new StudyCurves(store);
    const direction = study.spec.objective.direction;
    return {
      observe: async (number, pause) => {
        if (pause) await store.recordDecision(study.id, number, 1, 'PAUSED', 'bench');
      },
      async decide(number, newReports) {
        const s = (await store.getStudy(study.id))!;
        const views = await curves.views(study.id, s.created, direction);
        const me = views.find((v) => v.number === number)!;
        for (let k = me.intermediate.length - newReports + 1; k <= me.intermediate.length; k++) {
          const d = rule.decide({ ...me, state: 'RUNNING', intermediate: me.intermediate.slice(0, k) }, views);
          if (d.action !== 'continue') return d;
        }
        return { action: 'continue' };
      },
      async nextWork() {
        const s = (await store.getStudy(study.id))!;
        const views = await curves.views(study.id, s.created, direction);
        return rule.nextWork!({ trials: views, nextTrialNumber: s.created, canStartNew: true });
      },
    };
  },
};

const indexed: BenchPath = {
  create(store, rule, study) {
    const decider = new StoppingDecider(store);
    return {
      async observe(number, pause) {
        const d = await decider.report(study, rule, number, pause);
        if (pause) await decider.record(study, number, 1, d);
      },
      decide: (number) => decider.report(study, rule, number),
      async nextWork() {
        const s = (await store.getStudy(study.id))!;
        return decider.nextWork(study, rule, { nextTrialNumber: s.created, canStartNew: true });
      },
    };
  },
};

export const paths: Record<string, BenchPath> = { legacy, indexed };
