/** The admin token every test coordinator accepts (TUNEHIVE_ADMIN_TOKEN); no vitest import, so benches may use it too. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
/** Headers for an HTTP call of a test: the admin token, plus any given. */
export const authHeaders = (extra: Record<string, string> = {}, token = TEST_ADMIN_TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}`, ...extra });
