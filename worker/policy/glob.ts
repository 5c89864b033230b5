/**
 * Glob patterns of the worker's policy flags. `*` matches any run of characters but `/`, `**`
 * any run at all, `?` one character; everything else is literal. For names without slashes
 * (environment variables, bare program names) `*` therefore matches anything.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/**
 * Compiled once: every launch matches each of the agent's variables against the inherited-env
 * list, and compiling the patterns each time was a tenth of the agent's CPU per short trial.
 * Patterns come from the agent's own lists and flags, never from the wire; the cap is a guard.
 */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 4096;

function compiledGlob(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    re = globToRegExp(pattern);
    compiled.set(pattern, re);
  }
  return re;
}

/** The first pattern that matches `value`, or undefined. */
export function firstMatch(patterns: readonly string[], value: string): string | undefined {
  return patterns.find((p) => compiledGlob(p).test(value));
}
