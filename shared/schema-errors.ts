/**
 * TypeBox validation errors as `{field, reason}`: the field as a user writes it
 * (`trial.command[3]`, `searchSpace.lr.min`) and the reason from the failing schema's
 * `description` (written as "must be ..."), with the value that was given. One error per field:
 * a union reports its own description, not one line per variant.
 */
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { FieldError } from './errors.js';

type Node = Record<string, unknown>;

/** `got 5`, `got "x"` or `missing`, short enough for an error line. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = String(v);
  }
  return `got ${(text ?? String(v)).slice(0, 60)}`;
}

function decode(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function resolve(schema: TSchema, pointer: string): Node | undefined {
  let node: unknown = schema;
  for (const seg of pointer.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Node)[decode(seg)];
  }
  return typeof node === 'object' && node !== null ? (node as Node) : undefined;
}

/** `/trial/command/3` of a value to `trial.command[3]`, prefixed with `base`. */
export function fieldName(base: string, value: unknown, instancePath: string): string {
  let out = base;
  let node: unknown = value;
  for (const seg of instancePath.split('/').slice(1).map(decode)) {
    out = Array.isArray(node) ? `${out}[${seg}]` : out ? `${out}.${seg}` : seg;
    node = typeof node === 'object' && node !== null ? (node as Node)[seg] : undefined;
  }
  return out || '(body)';
}

function valueAt(value: unknown, instancePath: string): unknown {
  let node: unknown = value;
  for (const seg of instancePath.split('/').slice(1).map(decode)) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, seg)) return undefined;
    node = (node as Node)[seg];
  }
  return node;
}

export function schemaErrors(schema: TSchema, value: unknown, base = ''): FieldError[] {
  const errors = [...Value.Errors(schema, value)];
  // Errors inside a failed union's variants are noise: the union's own description says it.
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/anyOf/`);
  const out = new Map<string, { depth: number; reason: string }>();
  const add = (field: string, depth: number, reason: string) => {
    const prev = out.get(field);
    if (!prev || depth < prev.depth) out.set(field, { depth, reason });
  };
  for (const e of errors) {
    if (unions.some((u) => e.schemaPath.startsWith(u))) continue;
    const depth = e.schemaPath.split('/').length;
    if (e.keyword === 'additionalProperties') continue; // reported per key by the 'boolean' errors
    if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) {
      const parent = resolve(schema, e.schemaPath.slice(0, -'/additionalProperties'.length));
      const known = Object.keys((parent?.properties as Node | undefined) ?? {});
      add(fieldName(base, value, e.instancePath), depth, `unknown field${known.length ? ` (known: ${known.join(', ')})` : ''}`);
      continue;
    }
    if (e.keyword === 'required') {
      const node = resolve(schema, e.schemaPath);
      for (const prop of (e.params as { requiredProperties?: string[] }).requiredProperties ?? []) {
        const child = (node?.properties as Record<string, Node> | undefined)?.[prop];
        const path = `${e.instancePath}/${prop.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        add(fieldName(base, value, path), depth, `${(child?.description as string | undefined) ?? 'is required'} (missing)`);
      }
      continue;
    }
    const node = resolve(schema, e.schemaPath);
    const what = (node?.description as string | undefined) ?? e.message;
    add(fieldName(base, value, e.instancePath), depth, `${what} (${describeValue(valueAt(value, e.instancePath))})`);
  }
  return [...out].map(([field, { reason }]) => ({ field, reason }));
}

/**
 * How deep a parsed document nests, checked without recursion (a recursive walk is exactly
 * what a deeply nested body would overflow). Returns the path where `max` is exceeded.
 */
export function tooDeep(value: unknown, max: number): string | undefined {
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [node, depth, path] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return path || '(body)';
    for (const [k, v] of Object.entries(node)) stack.push([v, depth + 1, Array.isArray(node) ? `${path}[${k}]` : path ? `${path}.${k}` : k]);
  }
  return undefined;
}
