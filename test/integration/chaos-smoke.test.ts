/** A small run of `npm run chaos` (worker kills and a coordinator kill on real processes). */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('chaos (smoke)', () => {
  it('loses and duplicates nothing while workers and the coordinator are killed', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-chaos-')), 'chaos.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/chaos.ts', '--trials', '6', '--workers', '2', '--epochs', '4',
      '--epoch-ms', '300', '--kill-every-ms', '2500', '--coordinator-kills', '1', '--json', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr.slice(-2000)).toBe(0);
    const s = JSON.parse(readFileSync(out, 'utf8'));
    expect(s).toMatchObject({ state: 'COMPLETED', completed: 6, trialsLost: 0, trialsCompletedTwice: 0, metricPointsLost: 0, metricPointsDuplicated: 0, coordinatorKills: 1 });
    expect(s.workersKilled).toBeGreaterThan(0);
  }, 180_000);
});
