/**
 * Request body parsers for JSON and YAML. Both give a 400 naming the place in the body for what
 * cannot be used, instead of Fastify's defaults: a `__proto__` key was reported as "not valid
 * JSON" (secure-json-parse's protoAction 'error'), and a deeply nested body overflowed a
 * recursive walk further on (a 500).
 *
 * A `__proto__` key is refused with its path rather than removed: removing it silently dropped a
 * parameter of that name, and keeping it as an own property is one `Object.assign` away from
 * prototype pollution.
 */
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { TunehiveError } from '../../shared/errors.js';

/** Deeper than any API body (a spec's free-form settings included) needs, far below a stack's limit. */
export const MAX_BODY_DEPTH = 32;

function bad(field: string, reason: string): TunehiveError {
  return new TunehiveError('TH_ERR_REQUEST_INVALID', `${field}: ${reason}`, [{ field, reason }]);
}

/** Walks the parsed body without recursion, checking depth and key names. */
export function checkBodyShape(value: unknown): void {
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [node, depth, path] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= MAX_BODY_DEPTH) throw bad(path || '(body)', `nests deeper than ${MAX_BODY_DEPTH} levels`);
    const isArray = Array.isArray(node);
    for (const k of Object.keys(node)) {
      const at = isArray ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (k === '__proto__') throw bad(at, '"__proto__" cannot be used as a key (it is the prototype of every JavaScript object); choose another name');
      stack.push([(node as Record<string, unknown>)[k], depth + 1, at]);
    }
  }
}

/**
 * Deep nesting is refused before JSON.parse sees it: counting brackets outside strings is one
 * linear pass, and JSON.parse itself would build the whole deep structure first.
 */
function nestingProblem(text: string): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_BODY_DEPTH) return `nests deeper than ${MAX_BODY_DEPTH} levels`;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(bad('(body)', 'is empty; send a JSON object'), undefined);
    const deep = nestingProblem(text);
    if (deep) return done(bad('(body)', deep), undefined);
    parseChecked(() => JSON.parse(text) as unknown, 'JSON', done);
  });

  // Specs may be sent as YAML (the CLI sends what the user wrote, e.g. a Katib-style file).
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) => {
    parseChecked(() => parseYaml(body as string, { maxAliasCount: 100 }) as unknown, 'YAML', done);
  });
}

/** Parses a body and checks its shape (no `__proto__`, bounded nesting): one path for every format. */
function parseChecked(parse: () => unknown, format: string, done: (err: Error | null, value?: unknown) => void): void {
  let value: unknown;
  try {
    value = parse();
  } catch (err) {
    return done(bad('(body)', `is not valid ${format}: ${(err as Error).message}`), undefined);
  }
  try {
    checkBodyShape(value);
  } catch (err) {
    return done(err as Error, undefined);
  }
  done(null, value);
}
