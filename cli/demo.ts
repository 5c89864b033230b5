/**
 * `tunehive demo` (npm start): the local stack, plus a real study — a 20-trial random search
 * of an MLP on the digits data set, 4 trials at a time on two workers — with progress, and the
 * best trial at the end.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../shared/logger.js';
import { startDevStack } from './dev-stack.js';
import { fetchRunRecord, renderRun } from './show-commands.js';
import { humanBytes } from './artifact-commands.js';
import { api } from './http-client.js';
import { fmtParams, fmtValue, progressLine, studySummary, table } from './format.js';

const trainer = fileURLToPath(new URL('../examples/digits/train.ts', import.meta.url));
const data = fileURLToPath(new URL('../examples/digits/digits.csv.gz', import.meta.url));

export function demoSpec(maxTrials = 20) {
  return {
    name: 'digits-mlp-demo',
    objective: { metric: 'accuracy', direction: 'maximize' },
    searchSpace: {
      lr: { type: 'float', min: 0.001, max: 0.5, log: true },
      hidden: { type: 'int', min: 16, max: 128, step: 16 },
      epochs: { type: 'int', min: 5, max: 25 },
      batch_size: { type: 'categorical', values: [16, 32, 64, 128] },
      l2: { type: 'float', min: 1e-6, max: 1e-2, log: true },
    },
    algorithm: { name: 'random', seed: 42 },
    parallelism: 4,
    maxTrials,
    maxFailedTrials: 3,
    trial: {
      // The trainer is TypeScript, run through tsx; a Python program would be ["python3", "train.py", ...].
      command: [process.execPath, '--import', 'tsx', trainer, '--lr', '${params.lr}', '--hidden', '${params.hidden}', '--epochs', '${params.epochs}',
        '--batch-size', '${params.batch_size}', '--l2', '${params.l2}'],
      timeoutSeconds: 300,
      // Their SHA-256 is each run's data version (provenance), checked again by `tunehive rerun`.
      dataFiles: [data],
      tags: { dataset: 'uci-digits', model: 'mlp' },
    },
  };
}

/**
 * A sign-in link for the dashboard: a 12 h token made for it (revocable like any other), in the
 * URL's fragment, which the browser never sends to a server or writes to a proxy log.
 */
async function dashboardLink(base: string, auth: { token: string; source: string }, next: string): Promise<{ url: string; tokenId: string }> {
  const t = await api(base, 'POST', '/api/v1/tokens', { text: JSON.stringify({ ttl: '12h', description: 'tunehive demo: dashboard sign-in link' }), type: 'application/json' }, auth);
  return { url: `${base}/login#token=${encodeURIComponent(t.token)}&next=${encodeURIComponent(next)}`, tokenId: t.id };
}

/** Until Ctrl-C (SIGINT) or SIGTERM. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { process.off('SIGINT', done); process.off('SIGTERM', done); resolve(); };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** `args`: `--exit` ends the demo when the study is done; without it the stack stays up for the dashboard until Ctrl-C. */
export async function runDemo(args: readonly string[] = []): Promise<number> {
  const exitWhenDone = args.includes('--exit');
  const say = (m: string) => process.stderr.write(`${m}\n`);
  const log = createLogger('tunehive-demo', process.env.LOG_LEVEL ?? 'warn');
  const started = Date.now();
  const stack = await startDevStack({ workers: 2, slots: 2, dataDir: path.resolve('.tunehive'), log, say });
  const base = stack.coordinator.httpUrl;
  const auth = { token: stack.adminToken, source: "the local stack's admin token" };
  console.log(`Tunehive demo: API ${base}/api/v1/studies, 2 workers x 2 slots`);
  try {
    const study = await api(base, 'POST', '/api/v1/studies', { text: JSON.stringify(demoSpec()), type: 'application/json' }, auth);
    console.log(`study ${study.id}: random search over lr, hidden, epochs, batch_size, l2 — 20 trials, 4 at a time`);
    const link = await dashboardLink(base, auth, `/studies/${study.id}`);
    console.log(`\nDashboard (watch it live): ${base}/studies/${study.id}\n  sign in with this link: ${link.url}\n  (a 12 h token made for the link; \`tunehive token revoke ${link.tokenId}\` ends it)\n`);
    const tty = process.stdout.isTTY;
    let s = study;
    let last = '';
    while (s.state === 'RUNNING') {
      await new Promise((r) => setTimeout(r, 500));
      s = await api(base, 'GET', `/api/v1/studies/${study.id}`, undefined, auth);
      const line = progressLine(s);
      if (line !== last) {
        if (tty) process.stdout.write(`\r\x1b[2K${line}`);
        else console.log(line);
        last = line;
      }
    }
    if (tty) process.stdout.write('\n');
    const trials = await api(base, 'GET', `/api/v1/studies/${study.id}/trials?limit=100`, undefined, auth);
    const rows = [...trials.trials].sort((a: any, b: any) => (b.value ?? -1) - (a.value ?? -1)).slice(0, 5);
    console.log(`\nTop trials by validation accuracy:\n${table(['#', 'accuracy', 'state', 'params'], rows.map((t: any) => [String(t.number), fmtValue(t.value), t.state, fmtParams(t.params)]))}`);
    console.log(`\n${studySummary(s)}`);
    console.log(`wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (s.best) console.log(`\nBest trial: ${s.best.trialId} accuracy=${fmtValue(s.best.value)} with ${fmtParams(s.best.params)}`);
    if (s.best) {
      // What `tunehive show` prints: params, metrics, provenance (code, data, seed, command), artifacts.
      const r = await fetchRunRecord((p) => api(base, 'GET', p, undefined, auth), s.best.trialId);
      console.log(`\nThe best run, as \`tunehive show ${s.best.trialId}\` prints it:\n${renderRun(r.run, { provenance: r.provenance, ...(r.trial ? { trial: r.trial } : {}), ...(r.artifacts ? { artifacts: r.artifacts } : {}) })}`);
      console.log(`\nRe-run it from its record: tunehive rerun ${s.best.trialId}`);
    }
    const rc = s.state === 'COMPLETED' ? 0 : 1;
    if (!exitWhenDone) {
      console.log(`\nThe stack stays up for the dashboard: ${base}/studies/${study.id} (sign-in link above). Ctrl-C stops it; \`tunehive demo --exit\` ends when the study does.`);
      await untilInterrupted();
      say('stopping the stack');
    }
    return rc;
  } finally {
    await stack.close();
  }
}
