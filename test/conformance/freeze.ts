/**
 * Deep-frozen copies of a suite's inputs: ESM code runs in strict mode, so any write, push or
 * in-place sort an implementation tries on them throws a TypeError instead of passing silently.
 */
export function deepFreeze<T>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const child of Object.values(v as Record<string, unknown>)) freeze(child);
  };
  freeze(copy);
  return copy;
}

/** Names of settings a SettingsReader-based validator knows, read from its "unknown setting" error. */
export function knownSettings(errors: Array<{ field: string; reason: string }>): string[] {
  const reason = errors.find((e) => /unknown setting/.test(e.reason))?.reason ?? '';
  const list = /\(known: (.*)\)$/.exec(reason)?.[1] ?? '';
  return list === 'none' || list === '' ? [] : list.split(', ');
}
