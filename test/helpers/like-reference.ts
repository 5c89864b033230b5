/**
 * SQL LIKE by dynamic programming over (pattern position, value position): obviously right and
 * O(n * m), the reference the filter engines' LIKE is checked against. `%` any run, `_` one
 * character (code point), `\` makes the next character literal.
 */
export function likeReference(pattern: string, value: string): boolean {
  const p: Array<{ kind: 'any' | 'one' | 'lit'; ch?: string }> = [];
  const pc = Array.from(pattern);
  for (let i = 0; i < pc.length; i++) {
    if (pc[i] === '\\' && i + 1 < pc.length) p.push({ kind: 'lit', ch: pc[++i]! });
    else if (pc[i] === '%') p.push({ kind: 'any' });
    else if (pc[i] === '_') p.push({ kind: 'one' });
    else p.push({ kind: 'lit', ch: pc[i]! });
  }
  const v = Array.from(value);
  let row = new Array<boolean>(v.length + 1).fill(false);
  row[0] = true;
  for (const t of p) {
    const next = new Array<boolean>(v.length + 1).fill(false);
    for (let j = 0; j <= v.length; j++) {
      if (t.kind === 'any') next[j] = row[j]! || (j > 0 && next[j - 1]!);
      else if (j > 0 && row[j - 1]) next[j] = t.kind === 'one' || v[j - 1] === t.ch;
    }
    row = next;
  }
  return row[v.length]!;
}

/** A random LIKE pattern and value over a small alphabet, so that matches and near misses are both common. */
export function randomLikeCase(rnd: () => number): { pattern: string; value: string } {
  const pick = (xs: string) => xs[Math.floor(rnd() * xs.length)]!;
  const pattern = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => pick('ab%%_é\\.')).join('');
  const value = Array.from({ length: Math.floor(rnd() * 10) }, () => pick('abé.%_')).join('');
  return { pattern, value };
}
