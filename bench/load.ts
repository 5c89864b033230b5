/**
 * npm run bench:load — the load harness: Redis, C coordinators and K agents as real processes,
 * M concurrent studies of trivial trials (a real program, or the simulated runtime), every
 * figure next to a ceiling measured in the same run; optionally a soak; the other parts of the
 * load report (ask/tell, metric ingestion, the 100,000-trial study) when present.
 *
 *   npm run bench:load -- [--scenario throughput|slots1000|horizontal] [--mode process|simulated|both]
 *                         [--agents K] [--slots S] [--studies M] [--coordinators C] [--trials N]
 *                         [--duration SEC] [--soak SEC --soak-interval SEC] [--parts LIST]
 *                         [--redis-url URL | REDIS_URL=...] [--cluster]   (--help for all)
 *
 * Writes bench/results/load.json and load.md and prints the markdown; progress goes to stderr.
 * Exit 1 when a trial was not accounted for or the soak saw memory grow; 2 on bad options.
 */
import { OptionError, LOAD_HELP, parseLoadOptions } from './load/options.js';
import { toMarkdown, writeReport } from './load/report.js';
import { runLoad } from './load/run.js';
import { closeOpenStacks } from './load/stack.js';

const say = (m: string) => process.stderr.write(`${m}\n`);

async function main(): Promise<number> {
  let o;
  try {
    o = parseLoadOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof OptionError) {
      say(`bench:load: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (o === 'help') {
    console.log(LOAD_HELP);
    return 0;
  }
  if (o.redisUrl && /\/\/[^/@]*:[^/@]*@/.test(o.redisUrl) && process.argv.some((a) => a.startsWith('--redis-url'))) {
    say('bench:load: --redis-url carries a password, visible to every local user in /proc/PID/cmdline; prefer REDIS_URL');
  }
  const { report } = await runLoad(o, say);
  const files = writeReport(report, o.outDir);
  console.log(toMarkdown(report));
  say(`bench:load: wrote ${files.json} and ${files.md}`);
  return report.ok ? 0 : 1;
}

// Ctrl-C: stop every process the harness started and delete what it stored, then exit.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`bench:load: ${sig}; stopping what was started ...`);
    void closeOpenStacks().finally(() => process.exit(130));
  });
}
main().then((code) => process.exit(code), (err) => {
  say(`bench:load failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(2);
});
