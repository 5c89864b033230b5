/**
 * The whole path on real parts: HTTP submit -> coordinator -> BullMQ on a real redis-server ->
 * two worker agents -> trial child processes -> metrics over gRPC on loopback -> study COMPLETED.
 * The study and its checks are in test/helpers/grid-study.ts (the Redis Cluster test runs them too).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { runGridStudy } from '../helpers/grid-study.js';

describe('a study end to end', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('e2e', { workers: 2, slots: 2 }); });
  afterAll(async () => stack?.close());

  it('runs every trial on two workers and records the best one', async () => {
    await runGridStudy(stack);
  });
});
