/**
 * What a worker agrees to run, checked before every launch: the program (argv[0]) against
 * `--allow-command` patterns, the container image against `--allow-image` patterns, and the
 * names of the environment variables the spec sets against the deny list (DEFAULT_DENY_ENV plus
 * `--deny-env`, lifted name by name with `--allow-env`). Without allow patterns any program or
 * image runs, as before. A refusal names the rule; the trial ends FAILED with it
 * (OUTCOME_START_FAILED), never retried elsewhere as if the worker were lost.
 */
import { firstMatch } from './glob.js';

/**
 * Variables that make a program load code that is not in its command line: the dynamic loader
 * (LD_PRELOAD, LD_LIBRARY_PATH, macOS DYLD_*), interpreters' start-up hooks and search paths,
 * and shells' start-up files. With them a spec could turn an allowed `python3 /opt/train/run.py`
 * into anything. Lift one with `--allow-env NAME`.
 */
export const DEFAULT_DENY_ENV: readonly string[] = [
  'LD_*', 'DYLD_*', 'NODE_OPTIONS', 'NODE_PATH', 'PYTHONSTARTUP', 'PYTHONPATH', 'PYTHONHOME', 'PYTHONINSPECT', 'PYTHONUSERBASE',
  'BASH_ENV', 'ENV', 'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'RUBYOPT', 'RUBYLIB', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS',
  'GCONV_PATH', 'MALLOC_*', 'GLIBC_TUNABLES', 'PATH',
];

export interface CommandPolicyOptions {
  /** Glob patterns argv[0] must match (as written in the spec). Empty: any program. */
  allowCommands?: readonly string[];
  /** Glob patterns the container image must match. Empty: any image. */
  allowImages?: readonly string[];
  /** Names a spec may set even when a deny pattern matches them. */
  allowEnv?: readonly string[];
  /** Names a spec may not set, beyond DEFAULT_DENY_ENV. */
  denyEnv?: readonly string[];
}

const list = (ps: readonly string[]) => ps.map((p) => JSON.stringify(p)).join(', ');
const quote = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);

export class CommandPolicy {
  private readonly deny: string[];

  constructor(private readonly o: CommandPolicyOptions = {}) {
    this.deny = [...DEFAULT_DENY_ENV, ...(o.denyEnv ?? [])];
  }

  /** The reason this launch is refused, or undefined. `specEnv`: only the variables the spec set. */
  refusal(l: { argv: readonly string[]; image?: string | undefined; specEnv: Readonly<Record<string, string>> }): string | undefined {
    const program = l.argv[0] ?? '';
    const commands = this.o.allowCommands ?? [];
    if (commands.length > 0 && firstMatch(commands, program) === undefined) {
      return `refused by the worker's command policy: the program ${quote(program)} matches no --allow-command pattern (${list(commands)})`;
    }
    const images = this.o.allowImages ?? [];
    if (l.image !== undefined && images.length > 0 && firstMatch(images, l.image) === undefined) {
      return `refused by the worker's command policy: the image ${quote(l.image)} matches no --allow-image pattern (${list(images)})`;
    }
    for (const name of Object.keys(l.specEnv)) {
      if (firstMatch(this.o.allowEnv ?? [], name) !== undefined) continue;
      const rule = firstMatch(this.deny, name);
      if (rule === undefined) continue;
      const from = (this.o.denyEnv ?? []).includes(rule) ? `--deny-env ${JSON.stringify(rule)}` : `the default deny list (${JSON.stringify(rule)}; lift it with --allow-env ${name})`;
      return `refused by the worker's command policy: the spec sets the environment variable ${quote(name)}, denied by ${from}`;
    }
    return undefined;
  }
}
