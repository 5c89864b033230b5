/**
 * At most one run per key at a time: a request while that key's run is in progress asks for
 * exactly one more run after it, however many requests arrive meanwhile. The runner's fills
 * and the checkpoint clean-up are driven this way (many triggers, one pass at a time).
 */
export class CoalescingRuns<K> {
  private readonly runs = new Map<K, { running: Promise<void>; again: boolean }>();

  constructor(
    private readonly run: (key: K) => Promise<void>,
    /** Told of a failed run; the next request runs again. */
    private readonly onError: (key: K, err: unknown) => void,
    /** Once true, no run starts and no repeat is made. */
    private readonly stopped: () => boolean = () => false,
  ) {}

  request(key: K): void {
    if (this.stopped()) return;
    const current = this.runs.get(key);
    if (current) {
      current.again = true;
      return;
    }
    const entry = { running: Promise.resolve(), again: false };
    const loop = async () => {
      do {
        entry.again = false;
        try {
          await this.run(key);
        } catch (err) {
          this.onError(key, err);
        }
      } while (entry.again && !this.stopped());
      this.runs.delete(key);
    };
    this.runs.set(key, entry);
    entry.running = loop();
  }

  /** Resolves once no run is in progress. */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs.values()].map((r) => r.running));
  }
}
