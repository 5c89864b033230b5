/**
 * npm run bench:early-stopping — what early stopping saves on the digits trainer. The same
 * sampler and seed, 40 trials with a maximum budget of E epochs, under: no stopping, median,
 * asha and hyperband. Prints total epochs trained, wall time, best validation accuracy, epochs
 * saved as a ratio, and the decision latency (metric line -> program exit) of stopped trials.
 *
 *   npm run bench:early-stopping -- [--trials 40] [--epochs 27] [--rules none,median,asha,hyperband] [--min-resource 3]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startDevStack } from '../cli/dev-stack.js';
import { api } from '../cli/http-client.js';

const { values: a } = parseArgs({ options: {
  trials: { type: 'string', default: '40' }, epochs: { type: 'string', default: '27' }, rules: { type: 'string', default: 'none,median,asha,hyperband' },
  seed: { type: 'string', default: '11' }, 'min-resource': { type: 'string', default: '3' }, out: { type: 'string', default: 'bench/results/early-stopping' },
} });
const N = Number(a.trials);
const E = Number(a.epochs);

const RULES: Record<string, unknown> = {
  none: undefined,
  median: { rule: 'median', settings: { minTrialsRequired: 5, startStep: 3 } },
  asha: { rule: 'asha', settings: { reductionFactor: 3, minResource: Number(a['min-resource']), maxResource: E } },
  hyperband: { rule: 'hyperband', settings: { reductionFactor: 3, minResource: Number(a['min-resource']), maxResource: E } },
};

async function main() {
  const log = pino({ level: 'warn' });
  const stack = await startDevStack({ workers: 2, slots: 2, dataDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-es-')), log, say: (m) => process.stderr.write(`${m}\n`), httpPort: 0, grpcPort: 0 });
  const base = stack.coordinator.httpUrl;
  const rows: any[] = [];
  try {
    for (const name of a.rules!.split(',')) {
      if (!(name in RULES)) throw new Error(`unknown rule ${name}`);
      const spec: any = {
        name: `es-${name}`, objective: { metric: 'accuracy', direction: 'maximize' },
        searchSpace: {
          lr: { type: 'float', min: 0.0003, max: 0.5, log: true }, hidden: { type: 'int', min: 8, max: 64, step: 8 },
          batch_size: { type: 'categorical', values: [32, 64, 128] }, l2: { type: 'float', min: 1e-6, max: 1e-2, log: true },
        },
        algorithm: { name: 'random', seed: Number(a.seed) }, parallelism: 4, maxTrials: N,
        trial: { command: [process.execPath, '--import', 'tsx', path.resolve('examples/digits/train.ts'), '--lr', '${params.lr}', '--hidden', '${params.hidden}',
          '--epochs', String(E), '--batch-size', '${params.batch_size}', '--l2', '${params.l2}'] },
      };
      if (RULES[name]) spec.earlyStopping = RULES[name];
      const t0 = Date.now();
      const study = await api(base, 'POST', '/api/v1/studies', { text: JSON.stringify(spec), type: 'application/json' });
      let s = study;
      while (s.state === 'RUNNING') {
        await new Promise((r) => setTimeout(r, 500));
        s = await api(base, 'GET', `/api/v1/studies/${study.id}`);
        process.stderr.write(`\r${name}: ${s.counts.completed + s.counts.pruned + s.counts.failed}/${N} done, ${s.counts.paused} paused   `);
      }
      const wall = (Date.now() - t0) / 1000;
      const trials = (await api(base, 'GET', `/api/v1/studies/${study.id}/trials?limit=1000`)).trials;
      let epochs = 0;
      const latencies: number[] = [];
      for (const t of trials) {
        const full = await api(base, 'GET', `/api/v1/trials/${t.id}`);
        epochs += full.metrics.epoch?.count ?? 0;
        if (full.stopLatencyMs) latencies.push(full.stopLatencyMs);
      }
      latencies.sort((x, y) => x - y);
      rows.push({
        rule: name, state: s.state, epochs, wallSeconds: Number(wall.toFixed(1)), bestAccuracy: s.best?.value ?? null,
        completed: s.counts.completed, pruned: s.counts.pruned,
        decisionLatencyMs: latencies.length ? { median: latencies[Math.floor(latencies.length / 2)], p90: latencies[Math.floor(latencies.length * 0.9)], n: latencies.length } : null,
      });
      process.stderr.write(`\n${name}: ${epochs} epochs, best ${s.best?.value}, ${wall.toFixed(1)} s\n`);
    }
  } finally {
    await stack.close();
  }
  const none = rows.find((r) => r.rule === 'none');
  const lines = [
    `Early stopping on the digits MLP: ${N} trials, up to ${E} epochs, random search seed ${a.seed}, 2 workers x 2 slots`, '',
    '| rule | epochs trained | epochs vs none | wall s | best val. accuracy | vs none (pp) | decision latency ms (median / p90) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.rule} | ${r.epochs} | ${none ? (r.epochs / none.epochs).toFixed(3) : '-'} | ${r.wallSeconds} | ${r.bestAccuracy?.toFixed(4)} | ${none ? ((r.bestAccuracy - none.bestAccuracy) * 100).toFixed(2) : '-'} | ${r.decisionLatencyMs ? `${r.decisionLatencyMs.median} / ${r.decisionLatencyMs.p90}` : '-'} |`),
  ];
  console.log(lines.join('\n'));
  mkdirSync(path.dirname(a.out!), { recursive: true });
  writeFileSync(`${a.out}.json`, JSON.stringify(rows, null, 2));
  writeFileSync(`${a.out}.md`, `${lines.join('\n')}\n`);
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
