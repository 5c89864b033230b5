/**
 * What a bench:load part needs to run alone (`npm run bench:ask-tell`, `bench:metric-ingest`):
 * the Redis given (`--redis-url` / REDIS_URL) or a private one for the run, the section printed
 * as markdown, and the private Redis stopped and its folder removed whatever happens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalRedis } from '../../cli/local-redis.js';
import type { Section } from './figures.js';
import { sectionMarkdown } from './report.js';

export async function runStandalone(name: string, givenUrl: string | undefined, run: (redisUrl: string) => Promise<Section>): Promise<void> {
  const dir = givenUrl ? undefined : mkdtempSync(path.join(os.tmpdir(), `tunehive-bench-${name}-redis-`));
  const redis = dir ? await startLocalRedis({ dataDir: dir }) : undefined;
  try {
    console.log(sectionMarkdown(await run(givenUrl ?? redis!.url)));
  } finally {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** A command-line option that must be a positive integer: the number, or an error naming the option. */
export function positiveInt(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
}
