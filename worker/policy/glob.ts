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

/** The first pattern that matches `value`, or undefined. */
export function firstMatch(patterns: readonly string[], value: string): string | undefined {
  return patterns.find((p) => globToRegExp(p).test(value));
}
