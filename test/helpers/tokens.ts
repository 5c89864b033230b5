/** The admin token every test coordinator accepts (TUNEHIVE_ADMIN_TOKEN); no vitest import, so benches may use it too. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
/** Headers for an HTTP call of a test: the admin token, plus any given. */
export const authHeaders = (extra: Record<string, string> = {}, token = TEST_ADMIN_TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}`, ...extra });
/**
 * The worker join token every test coordinator pre-seeds (`workerJoinToken`, as
 * TUNEHIVE_WORKER_JOIN_TOKEN would) and every test worker joins with. Apart from env.ts so
 * benches that spawn processes (bench/chaos.ts) can use it outside vitest.
 */
export const TEST_JOIN_TOKEN = 'test-join-token-0123456789abcdef';
