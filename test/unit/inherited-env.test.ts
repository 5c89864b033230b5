/** A trial inherits an allow-list of the agent's environment: never its credentials. */
import { describe, expect, it } from 'vitest';
import { inheritedEnvironment } from '../../worker/runtime/inherited-env.js';

describe('inherited environment', () => {
  const agent = {
    PATH: '/usr/bin', HOME: '/home/agent', LANG: 'C.UTF-8', LC_ALL: 'C', NVIDIA_DRIVER_CAPABILITIES: 'compute',
    REDIS_URL: 'redis://tunehive-worker:pw@redis:6379', TUNEHIVE_JOIN_TOKEN: 'thj_x', TUNEHIVE_TOKEN: 't', TUNEHIVE_ADMIN_TOKEN: 'a',
    REDIS_PASSWORD: 'pw', AWS_SECRET_ACCESS_KEY: 'k', HTTPS_PROXY: 'http://user:pw@proxy:3128', NODE_OPTIONS: '--require /evil.js', SOMETHING_NEW: 'x',
  };

  it('passes locale, paths and the GPU stack only', () => {
    expect(inheritedEnvironment(agent)).toEqual({ PATH: '/usr/bin', HOME: '/home/agent', LANG: 'C.UTF-8', LC_ALL: 'C', NVIDIA_DRIVER_CAPABILITIES: 'compute' });
  });

  it('--pass-env adds names', () => {
    expect(inheritedEnvironment(agent, ['SOMETHING_*'])).toHaveProperty('SOMETHING_NEW', 'x');
  });
});
