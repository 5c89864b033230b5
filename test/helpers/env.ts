import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { pino } from 'pino';

export const redisUrl = (): string => inject('redisUrl');
export { TEST_JOIN_TOKEN } from './tokens.js';

/** A key prefix of its own for each test file, so files share one Redis without touching each other. */
export const uniquePrefix = (name: string): string => `t-${name}-${randomBytes(3).toString('hex')}`;

/** Every HTTP call in tests sends the admin token (test coordinators start with it). */
export { authHeaders, TEST_ADMIN_TOKEN } from './tokens.js';

export const quietLog = () => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Polls `check` until it returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
