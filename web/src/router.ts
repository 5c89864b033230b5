/** A tiny history router: paths are matched by pattern, links are intercepted in main.tsx. */
import { signal } from './signal.js';

export const location = signal(window.location.pathname + window.location.search);

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  location.set(to);
}

window.addEventListener('popstate', () => location.set(window.location.pathname + window.location.search));

export interface Match { name: string; params: Record<string, string> }
const ROUTES: Array<[string, RegExp, string[]]> = [
  ['home', /^\/$/, []],
  ['login', /^\/login$/, []],
  ['study', /^\/studies\/([^/]+)$/, ['id']],
  ['run', /^\/runs\/([^/]+)$/, ['id']],
  ['experiment', /^\/experiments\/([^/]+)$/, ['id']],
  ['workers', /^\/workers$/, []],
  ['models', /^\/models$/, []],
  ['model', /^\/models\/([^/]+)$/, ['name']],
];

export function match(url: string): Match {
  const p = url.split('?')[0]!;
  for (const [name, re, keys] of ROUTES) {
    const m = re.exec(p);
    if (m) return { name, params: Object.fromEntries(keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)])) };
  }
  return { name: 'notfound', params: {} };
}
