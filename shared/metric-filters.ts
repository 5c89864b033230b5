/**
 * Regex filters for metric lines (Katib's `metricsFormat`): checked at submission as Katib
 * checks them (a valid regex with two capture groups, the metric's name and its value), and
 * further refused where matching could take time out of proportion to a line: nested or
 * alternated repetition (`(a+)+`, `(a|ab)*`), back-references and look-arounds. Go's RE2, which
 * Katib uses, has no back-references or look-arounds either, so a filter Katib accepts is
 * refused here only for nested repetition. Filters run on V8's linear-time engine where Node has
 * it (compileFilter), and the worker applies them to lines of at most MAX_FILTER_LINE_CHARS.
 */
import v8 from 'node:v8';

/** Katib's default filter (pkg/metricscollector/v1beta1/common/const.go). */
export const KATIB_DEFAULT_FILTER = '([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)';

/** Longer lines are not matched against filters: a quadratic pattern on 4 KiB is a few million steps. */
export const MAX_FILTER_LINE_CHARS = 4096;

interface Frame { capturing: boolean; repeats: boolean; alternates: boolean }

/** Why a filter cannot be used, or undefined when it can. */
export function filterProblem(pattern: string): string | undefined {
  const shape = scan(pattern);
  if (typeof shape === 'string') return shape;
  try {
    compileFilter(pattern);
  } catch (err) {
    return `is not a valid regular expression: ${(err as Error).message}`;
  }
  if (shape.groups < 2) return `must have two capture groups, the metric's name and its value (it has ${shape.groups})`;
  if (!shape.topLevel) return 'its first two capture groups must not be nested in another capture group: group 1 is the metric\'s name, group 2 its value';
  return undefined;
}

/** Go's named groups `(?P<name>...)` are written `(?<name>...)` in JavaScript. */
export function toJsSource(pattern: string): string {
  return pattern.replace(/\(\?P</g, '(?<');
}

/**
 * V8's linear-time RegExp engine (the `l` flag), which never backtracks: the scan below refuses
 * nested repetition, but adjacent repetition is polynomial with the number of quantifiers
 * (`(\w+)=(a*a*a*a*b)` took 1.7 s on a 400-character line, hours on 4 KiB), and filters come
 * from any project's study while workers are shared. Filters have no back-references or
 * look-arounds (refused below; RE2, Katib's engine, has none), which is what the engine lacks.
 * The flag is enabled at run time once; where this Node has no such engine, the backtracking
 * one is used, guarded by the scan and the line length alone.
 */
let linear: string | undefined;
function linearFlag(): string {
  if (linear !== undefined) return linear;
  try {
    v8.setFlagsFromString('--enable-experimental-regexp-engine');
    new RegExp('a', 'l');
    linear = 'l';
  } catch {
    linear = '';
  }
  return linear;
}

/** Compiles a filter that passed `filterProblem`. */
export function compileFilter(pattern: string): RegExp {
  return new RegExp(toJsSource(pattern), `g${linearFlag()}`);
}

/** One linear pass over the pattern: capture groups, and repetition that can backtrack exponentially. */
function scan(p: string): { groups: number; topLevel: boolean } | string {
  const stack: Frame[] = [{ capturing: false, repeats: false, alternates: false }];
  let groups = 0;
  let topLevel = true;
  let capturingDepth = 0;
  /** What the last atom was: a closed group (its frame) or a plain atom. */
  let last: Frame | 'atom' | undefined;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    const top = stack.at(-1)!;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined) return 'ends with a lone backslash';
      if (/[1-9]/.test(n) || n === 'k') return 'uses a back-reference, which is not supported (Katib\'s RE2 has none either)';
      i++;
      last = 'atom';
    } else if (c === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') j++;
      while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1;
      if (j >= p.length) return 'has a character class without its closing ]';
      i = j;
      last = 'atom';
    } else if (c === '(') {
      let capturing = true;
      if (p[i + 1] === '?') {
        const rest = p.slice(i + 2, i + 4);
        if (rest.startsWith(':')) capturing = false;
        else if (rest.startsWith('P<') || (rest.startsWith('<') && rest !== '<=' && rest !== '<!')) capturing = true;
        else if (rest.startsWith('=') || rest.startsWith('!') || rest === '<=' || rest === '<!') return 'uses a look-around, which is not supported (Katib\'s RE2 has none either)';
        else return 'uses inline flags such as (?i), which are not supported';
      }
      if (capturing) {
        groups++;
        if (groups <= 2 && capturingDepth > 0) topLevel = false;
        capturingDepth++;
      }
      stack.push({ capturing, repeats: false, alternates: false });
      last = undefined;
    } else if (c === ')') {
      if (stack.length === 1) return 'has a ) without its (';
      const f = stack.pop()!;
      if (f.capturing) capturingDepth--;
      const parent = stack.at(-1)!;
      parent.repeats ||= f.repeats;
      last = f;
    } else if (c === '|') {
      top.alternates = true;
      last = undefined;
    } else if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(p.slice(i)))) {
      let unbounded = c === '*' || c === '+';
      if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i))!;
        unbounded = m[2] !== undefined && (m[3] === '' || Number(m[3]) > 1);
        i += m[0].length - 1;
      }
      if (p[i + 1] === '?' || p[i + 1] === '+') i++;
      if (last === undefined) continue;
      if (unbounded && last !== 'atom' && (last.repeats || last.alternates)) {
        return 'repeats a group that itself repeats or alternates (such as (a+)+ or (a|ab)*), which can take exponential time on one line; rewrite it without the nesting';
      }
      if (unbounded) top.repeats = true;
      last = undefined;
    } else {
      last = 'atom';
    }
  }
  if (stack.length > 1) return 'has a ( without its )';
  return { groups, topLevel };
}
