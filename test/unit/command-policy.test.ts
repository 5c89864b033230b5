/** The worker's command policy: programs, images and environment names, each refusal naming its rule. */
import { describe, expect, it } from 'vitest';
import { CommandPolicy, DEFAULT_DENY_ENV } from '../../worker/policy/command-policy.js';
import { globToRegExp } from '../../worker/policy/glob.js';

describe('glob patterns', () => {
  it('* stops at a slash, ** does not, ? is one character, the rest is literal', () => {
    expect(globToRegExp('/opt/train/*').test('/opt/train/run.sh')).toBe(true);
    expect(globToRegExp('/opt/train/*').test('/opt/train/sub/run.sh')).toBe(false);
    expect(globToRegExp('/opt/train/**').test('/opt/train/sub/run.sh')).toBe(true);
    expect(globToRegExp('python3*').test('python3.11')).toBe(true);
    expect(globToRegExp('python3').test('/tmp/python3')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('LD_*').test('LD_PRELOAD')).toBe(true);
    expect(globToRegExp('p?').test('p1')).toBe(true);
  });
});

describe('CommandPolicy', () => {
  it('without patterns runs any program and image, and still denies the loader and interpreter hooks', () => {
    const p = new CommandPolicy();
    expect(p.refusal({ argv: ['/bin/sh', '-c', 'id'], image: 'anything:latest', specEnv: { PYTHONUNBUFFERED: '1' } })).toBeUndefined();
    for (const name of ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'PYTHONSTARTUP', 'PYTHONPATH', 'BASH_ENV', 'ENV', 'PATH']) {
      expect(p.refusal({ argv: ['python3'], specEnv: { [name]: 'x' } }), name).toMatch(new RegExp(`environment variable "${name}", denied by the default deny list .*--allow-env ${name}`));
    }
    expect(DEFAULT_DENY_ENV).toEqual(expect.arrayContaining(['LD_*', 'NODE_OPTIONS', 'DYLD_*', 'PYTHONSTARTUP', 'BASH_ENV', 'ENV']));
  });

  it('--allow-command: argv[0] as written must match a pattern', () => {
    const p = new CommandPolicy({ allowCommands: ['python3', '/opt/train/*'] });
    expect(p.refusal({ argv: ['python3', 'x.py'], specEnv: {} })).toBeUndefined();
    expect(p.refusal({ argv: ['/opt/train/run.sh'], specEnv: {} })).toBeUndefined();
    expect(p.refusal({ argv: ['/bin/sh', '-c', 'id'], specEnv: {} })).toBe('refused by the worker\'s command policy: the program "/bin/sh" matches no --allow-command pattern ("python3", "/opt/train/*")');
    expect(p.refusal({ argv: ['/opt/train/../../bin/sh'], specEnv: {} })).toMatch(/matches no --allow-command/);
  });

  it('--allow-image applies to container images', () => {
    const p = new CommandPolicy({ allowImages: ['registry.corp/ml/*'] });
    expect(p.refusal({ argv: ['python3'], image: 'registry.corp/ml/trainer:1.2', specEnv: {} })).toBeUndefined();
    expect(p.refusal({ argv: ['python3'], image: 'docker.io/evil:latest', specEnv: {} })).toMatch(/image "docker.io\/evil:latest" matches no --allow-image pattern \("registry.corp\/ml\/\*"\)/);
  });

  it('--deny-env adds names, --allow-env lifts one', () => {
    const p = new CommandPolicy({ denyEnv: ['AWS_*'], allowEnv: ['PYTHONPATH'] });
    expect(p.refusal({ argv: ['python3'], specEnv: { AWS_PROFILE: 'x' } })).toMatch(/"AWS_PROFILE", denied by --deny-env "AWS_\*"/);
    expect(p.refusal({ argv: ['python3'], specEnv: { PYTHONPATH: '/opt/lib' } })).toBeUndefined();
    expect(p.refusal({ argv: ['python3'], specEnv: { LD_PRELOAD: 'x' } })).toMatch(/LD_PRELOAD/);
  });
});
