/**
 * The worker join token every test coordinator pre-seeds (`workerJoinToken`, as
 * TUNEHIVE_WORKER_JOIN_TOKEN would) and every test worker joins with. Apart from env.ts so
 * benches that spawn processes (bench/chaos.ts) can use it outside vitest.
 */
export const TEST_JOIN_TOKEN = 'test-join-token-0123456789abcdef';
