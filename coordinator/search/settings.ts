/**
 * Small helpers for validating algorithm / rule settings: each reads one setting, records a
 * FieldError when it is wrong and returns the default when it is absent.
 */
import type { FieldError } from '../../shared/errors.js';

export class SettingsReader {
  readonly errors: FieldError[] = [];
  constructor(
    private readonly settings: Record<string, unknown>,
    private readonly prefix = 'algorithm.settings',
  ) {}

  number(key: string, def: number, opts: { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean } = {}): number {
    const v = this.settings[key];
    if (v === undefined) return def;
    const bad = typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v)) ||
      (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) || (opts.max !== undefined && v > opts.max);
    if (bad) {
      const range = [opts.min !== undefined ? `${opts.exclusiveMin ? '>' : '>='} ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : ''].filter(Boolean).join(' and ');
      this.errors.push({ field: `${this.prefix}.${key}`, reason: `must be ${opts.int ? 'an integer' : 'a number'}${range ? ' ' + range : ''} (got ${JSON.stringify(v)})` });
      return def;
    }
    return v as number;
  }

  boolean(key: string, def: boolean): boolean {
    const v = this.settings[key];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') {
      this.errors.push({ field: `${this.prefix}.${key}`, reason: `must be true or false (got ${JSON.stringify(v)})` });
      return def;
    }
    return v;
  }

  oneOf<T extends string>(key: string, def: T, allowed: readonly T[]): T {
    const v = this.settings[key];
    if (v === undefined) return def;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.errors.push({ field: `${this.prefix}.${key}`, reason: `must be one of ${allowed.map((a) => `"${a}"`).join(', ')} (got ${JSON.stringify(v)})` });
      return def;
    }
    return v as T;
  }

  /** Flags settings this algorithm does not know, so a typo is an error rather than silently ignored. */
  onlyKnown(known: readonly string[]): FieldError[] {
    for (const k of Object.keys(this.settings)) {
      if (!known.includes(k)) this.errors.push({ field: `${this.prefix}.${k}`, reason: `unknown setting (known: ${known.join(', ') || 'none'})` });
    }
    return this.errors;
  }
}
