/**
 * Prometheus metrics of one coordinator. Counters and histograms are fed where things happen;
 * gauges read the system of record at scrape time (every replica reports the same totals).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StudyStore } from '../store/study-store-contract.js';
import type { TrialQueue } from '../queue/trial-queue.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import type { TrialCommands } from '../runner/trial-commands.js';

export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly suggestionSeconds: Histogram<'algorithm'>;
  readonly metricPoints: Counter;
  readonly decisions: Counter<'decision'>;

  constructor(deps: { store: StudyStore; queue: TrialQueue; workers: WorkerDirectory; commands: TrialCommands }) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'tunehive_coordinator_' });
    this.suggestionSeconds = new Histogram({
      name: 'tunehive_suggestion_seconds', help: 'Time to compute one suggestion, by algorithm', labelNames: ['algorithm'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [r],
    });
    this.metricPoints = new Counter({ name: 'tunehive_metric_points_ingested_total', help: 'Metric points stored (duplicates excluded)', registers: [r] });
    this.decisions = new Counter({ name: 'tunehive_early_stopping_decisions_total', help: 'Early-stopping decisions made', labelNames: ['decision'], registers: [r] });
    new Gauge({
      name: 'tunehive_studies', help: 'Studies by state (running = driven now)', labelNames: ['state'], registers: [r],
      async collect() {
        const [all, running] = await Promise.all([deps.store.countStudies(), deps.store.activeStudyIds()]);
        this.set({ state: 'running' }, running.length);
        this.set({ state: 'ended' }, all - running.length);
      },
    });
    new Gauge({
      name: 'tunehive_trials', help: 'Trials of running studies by state', labelNames: ['state'], registers: [r],
      async collect() {
        const totals: Record<string, number> = {};
        for (const id of await deps.store.activeStudyIds()) {
          const s = await deps.store.getStudy(id);
          if (s) for (const [k, v] of Object.entries(s.counts)) totals[k] = (totals[k] ?? 0) + v;
        }
        for (const [k, v] of Object.entries(totals)) this.set({ state: k.toUpperCase() }, v);
      },
    });
    new Gauge({
      name: 'tunehive_queue_depth', help: 'Trial jobs waiting for a worker, by GPU class', labelNames: ['gpus'], registers: [r],
      async collect() {
        for (const [gpus, n] of await deps.queue.depth()) this.set({ gpus: String(gpus) }, n);
      },
    });
    const fleet = async () => deps.workers.list();
    new Gauge({ name: 'tunehive_workers_connected', help: 'Worker agents registered and alive', registers: [r], async collect() { this.set((await fleet()).length); } });
    new Gauge({
      name: 'tunehive_gpus', help: 'GPUs of the registered workers', labelNames: ['state'], registers: [r],
      async collect() {
        const ws = await fleet();
        this.set({ state: 'total' }, ws.reduce((n, w) => n + (w.info.gpus ?? 0), 0));
        this.set({ state: 'free' }, ws.reduce((n, w) => n + (w.info.freeGpus ?? 0), 0));
      },
    });
    new Gauge({ name: 'tunehive_trial_streams_open', help: 'Trial streams open on this replica', registers: [r], collect() { this.set(deps.commands.connected); } });
  }
}
