/**
 * What the operating system would refuse in a launch, said in words a user can act on. exec
 * takes C strings, so a NUL byte can reach no program; Node throws on one synchronously, and an
 * exception out of `launch` would look to the queue like a lost worker and burn every retry.
 */
import type { LaunchSpec } from './runtime.js';

// Names from the wire can be huge or hostile: quote a bounded prefix, never the whole thing.
const quote = (s: string) => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

/** The first reason this argv and environment cannot be exec'd at all, or undefined. */
export function launchProblem(spec: Pick<LaunchSpec, 'argv' | 'env'>): string | undefined {
  if (spec.argv.length === 0) return 'the trial command is empty';
  if (spec.argv[0] === '') return 'the trial command names no program (argv[0] is empty)';
  const i = spec.argv.findIndex((a) => a.includes('\0'));
  if (i >= 0) return `argument ${i} of the trial command contains a NUL byte, which no program can receive`;
  for (const [k, v] of Object.entries(spec.env)) {
    if (k === '' || k.includes('=') || k.includes('\0')) return `environment variable name ${quote(k)} is not valid (empty, or contains "=" or a NUL byte)`;
    if (v.includes('\0')) return `environment variable ${quote(k)} contains a NUL byte, which no program can receive`;
  }
  return undefined;
}

/** Linux refuses one argument or variable longer than 32 pages (MAX_ARG_STRLEN, NUL included). */
export const MAX_ARG_STRLEN = 32 * 4096;

/** Explains E2BIG: one string over MAX_ARG_STRLEN, or all of them together over the system's ARG_MAX. */
export function tooBigReason(argv: string[], env: Record<string, string>): string {
  const bytes = (s: string) => Buffer.byteLength(s) + 1;
  let total = 0;
  let largest = { what: '', size: 0 };
  argv.forEach((a, i) => {
    const n = bytes(a);
    total += n;
    if (n > largest.size) largest = { what: `argument ${i}`, size: n };
  });
  for (const [k, v] of Object.entries(env)) {
    const n = bytes(`${k}=${v}`);
    total += n;
    if (n > largest.size) largest = { what: `environment variable ${quote(k)}`, size: n };
  }
  if (largest.size > MAX_ARG_STRLEN) {
    return `${largest.what} is ${largest.size} bytes; Linux takes at most ${MAX_ARG_STRLEN} bytes per argument or variable (E2BIG)`;
  }
  return `the arguments and environment total ${total} bytes, more than the system allows (E2BIG: argument list too long)`;
}
