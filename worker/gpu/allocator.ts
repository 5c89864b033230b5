/**
 * GPU and CPU-slot accounting for one worker agent. Pure: no I/O, clock injected.
 *
 * Mechanism and policy are apart. `tryAcquire` / `release` only count (a device is never held
 * by two trials; an n-GPU trial gets exactly n devices). `takeableClasses` is the policy the
 * queue loop asks before it pulls a job: which resource classes (GPU counts) to take one for
 * now, best first.
 *
 * Fairness. Trials are queued per resource class (GPU count); the loop reports the classes that
 * have jobs waiting. Each such class carries the time it started waiting (reset whenever it is
 * served), and the classes that fit now are offered oldest-waiting first (ties: bigger first,
 * it packs better). That alone lets 1-GPU trials run beside a blocked 8-GPU trial, and makes
 * 8-GPU and 1-GPU jobs alternate on an idle node instead of one class winning every time.
 * What it cannot do is make 8 GPUs free at once while 1-GPU jobs keep arriving: so once a
 * class that can fit on this node but does not fit now has waited `reserveAfterMs`, it holds
 * a reservation: no other GPU class is offered (CPU-only work still is, it uses no GPU) until
 * enough devices drain and the reserved class is served, or nobody wants it any more (its
 * queue empties: another worker took it). The cost is GPUs idling while they drain, bounded
 * by the running trials' length, which is why the reservation waits a while first.
 */

export interface GpuAllocatorOptions {
  /** How many CPU-only (0-GPU) trials may run at once; GPU trials are bounded by their devices. */
  cpuSlots: number;
  /** How long a class that could fit waits before it reserves the node. Default 10 minutes. */
  reserveAfterMs?: number;
  now?: () => number;
}

export interface Reservation {
  gpus: number;
  waitingMs: number;
}

interface Holding {
  n: number;
  devices: string[];
}

export const DEFAULT_RESERVE_AFTER_MS = 10 * 60_000;

export class GpuAllocator {
  readonly devices: readonly string[];
  readonly cpuSlots: number;
  readonly reserveAfterMs: number;
  private readonly now: () => number;
  private readonly holdings = new Map<string, Holding>();
  private readonly ownerOf = new Map<string, string>();
  private cpuInUse = 0;
  /** Resource class -> since when it has had jobs waiting and not been served. */
  private readonly waitingSince = new Map<number, number>();

  constructor(devices: readonly string[], opts: GpuAllocatorOptions) {
    if (new Set(devices).size !== devices.length) throw new RangeError(`duplicate device ids: ${devices.join(',')}`);
    if (!Number.isSafeInteger(opts.cpuSlots) || opts.cpuSlots < 0) throw new RangeError(`cpuSlots must be an integer >= 0 (got ${opts.cpuSlots})`);
    const reserveAfterMs = opts.reserveAfterMs ?? DEFAULT_RESERVE_AFTER_MS;
    if (!(reserveAfterMs >= 0)) throw new RangeError(`reserveAfterMs must be >= 0 (got ${reserveAfterMs})`);
    this.devices = Object.freeze([...devices]);
    this.cpuSlots = opts.cpuSlots;
    this.reserveAfterMs = reserveAfterMs;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Exactly n free devices for the trial (lowest first, in the order given at construction), or
   * null. n = 0 takes a CPU slot. Asking again for a trial that already holds n returns the same
   * devices (a redelivered job must not take a second set); asking with another n is a bug.
   */
  tryAcquire(trialId: string, n: number): string[] | null {
    checkClass(n);
    const held = this.holdings.get(trialId);
    if (held) {
      if (held.n !== n) throw new Error(`trial ${trialId} already holds ${held.n} GPU(s), asked for ${n}`);
      return [...held.devices];
    }
    if (!this.canFitNow(n)) return null;
    let devices: string[] = [];
    if (n === 0) this.cpuInUse++;
    else {
      devices = this.free().slice(0, n);
      for (const d of devices) this.ownerOf.set(d, trialId);
    }
    this.holdings.set(trialId, { n, devices });
    this.waitingSince.delete(n);
    return [...devices];
  }

  /** Idempotent: releasing twice, or a trial that never acquired, does nothing. */
  release(trialId: string): boolean {
    const held = this.holdings.get(trialId);
    if (!held) return false;
    this.holdings.delete(trialId);
    if (held.n === 0) this.cpuInUse--;
    for (const d of held.devices) this.ownerOf.delete(d);
    return true;
  }

  /** Free devices, in construction order. */
  free(): string[] {
    return this.devices.filter((d) => !this.ownerOf.has(d));
  }

  freeCpuSlots(): number {
    return this.cpuSlots - this.cpuInUse;
  }

  held(trialId: string): string[] | undefined {
    const h = this.holdings.get(trialId);
    return h ? [...h.devices] : undefined;
  }

  /** Number of trials holding resources (GPU and CPU-only). */
  get running(): number {
    return this.holdings.size;
  }

  /** False for a class this node could not run even empty: its jobs belong to other workers. */
  canEverFit(n: number): boolean {
    checkClass(n);
    return n === 0 ? this.cpuSlots > 0 : n <= this.devices.length;
  }

  canFitNow(n: number): boolean {
    checkClass(n);
    return n === 0 ? this.cpuInUse < this.cpuSlots : n <= this.devices.length - this.ownerOf.size;
  }

  /**
   * The classes (GPU counts) to take a job for now, best first. `classes` must be those that
   * have jobs waiting (not every class the node could serve), because a reported class ages
   * towards a reservation; a class left out forgets its waiting time.
   */
  takeableClasses(classes: readonly number[]): number[] {
    const now = this.now();
    const wanted = new Set<number>();
    for (const c of classes) {
      checkClass(c);
      if (this.canEverFit(c)) wanted.add(c);
    }
    for (const c of [...this.waitingSince.keys()]) if (!wanted.has(c)) this.waitingSince.delete(c);
    for (const c of wanted) if (!this.waitingSince.has(c)) this.waitingSince.set(c, now);

    const reserved = this.reservation();
    const since = (c: number) => this.waitingSince.get(c) as number;
    return [...wanted]
      .filter((c) => this.canFitNow(c) && (reserved === null || c === 0))
      .sort((a, b) => since(a) - since(b) || b - a);
  }

  /** The class holding the node, if any (as of the last takeableClasses call's demand). */
  reservation(): Reservation | null {
    const now = this.now();
    let best: { gpus: number; since: number } | null = null;
    for (const [gpus, since] of this.waitingSince) {
      if (gpus === 0 || this.canFitNow(gpus) || now - since < this.reserveAfterMs) continue;
      if (!best || since < best.since || (since === best.since && gpus > best.gpus)) best = { gpus, since };
    }
    return best ? { gpus: best.gpus, waitingMs: now - best.since } : null;
  }
}

function checkClass(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a GPU count must be an integer >= 0 (got ${n})`);
}
