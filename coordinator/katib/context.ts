/**
 * What every part of the Katib mapping shares: the refusals (each with the Katib field path and
 * why), the rows of the mapping report (`tunehive katib check`), and where each Tunehive field
 * came from, so a problem the normal spec validation finds afterwards names the Katib field too.
 */
import type { FieldError } from '../../shared/errors.js';

export type RowStatus = 'mapped' | 'default' | 'recorded' | 'refused';
export interface MappingRow { katib: string; tunehive: string; status: RowStatus; note?: string }

export type Raw = Record<string, unknown>;
export const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export class MapContext {
  readonly refusals: FieldError[] = [];
  readonly rows: MappingRow[] = [];
  /** Tunehive field prefix -> the Katib field it came from. */
  readonly origins = new Map<string, string>();
  /** Katib fields Tunehive keeps as a record only (study tag `katib.recorded`). */
  readonly recorded: string[] = [];

  refuse(field: string, reason: string): void {
    this.refusals.push({ field, reason });
    this.rows.push({ katib: field, tunehive: '-', status: 'refused', note: reason });
  }

  map(katib: string, tunehive: string, value?: unknown, note?: string): void {
    this.origins.set(originKey(tunehive), katib);
    this.rows.push({ katib, tunehive: value === undefined ? tunehive : `${tunehive} = ${show(value)}`, status: 'mapped', ...(note ? { note } : {}) });
  }

  defaulted(katib: string, tunehive: string, value: unknown, note: string): void {
    this.origins.set(originKey(tunehive), katib);
    this.rows.push({ katib, tunehive: `${tunehive} = ${show(value)}`, status: 'default', note });
  }

  record(katib: string, note: string): void {
    this.recorded.push(katib);
    this.rows.push({ katib, tunehive: 'tag katib.recorded', status: 'recorded', note });
  }

  /** Fields of a Katib object that this mapping does not know: refused, never dropped. */
  unknownKeys(obj: Raw, at: string, known: readonly string[]): void {
    for (const k of Object.keys(obj)) if (!known.includes(k)) this.refuse(`${at}.${k}`, `is not a field Tunehive knows here (known: ${known.join(', ')})`);
  }
}

/** `tags.katib.label.*` -> `tags.katib.label`: the prefix a Tunehive error's field starts with. */
const originKey = (tunehive: string): string => tunehive.split(' ')[0]!.replace(/\.\*$/, '');

export function show(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Katib writes numbers as strings ("0.01"); YAML may give them as numbers. Undefined when it is neither. */
export function katibNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}

export function describe(v: unknown): string {
  return v === undefined ? 'missing' : `got ${show(v)}`;
}
