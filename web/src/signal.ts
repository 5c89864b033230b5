/** A minimal observable value with a Preact hook, so that modules share state without a framework. */
import { useEffect, useState } from 'preact/hooks';

export interface Signal<T> { get(): T; set(v: T): void; subscribe(f: (v: T) => void): () => void }

export function signal<T>(initial: T): Signal<T> {
  let v = initial;
  const subs = new Set<(v: T) => void>();
  return {
    get: () => v,
    set: (n) => { v = n; for (const s of subs) s(n); },
    subscribe: (f) => { subs.add(f); return () => { subs.delete(f); }; },
  };
}

export function useSignal<T>(s: Signal<T>): T {
  const [v, setV] = useState(s.get());
  useEffect(() => { setV(s.get()); return s.subscribe(setV); }, [s]);
  return v;
}
