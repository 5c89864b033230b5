/**
 * One attempt's provenance on the worker: starts the capture, sends the record as soon as code
 * and data are known (never holding the program back), sends it again when the engine names
 * the image digest or the program reports its own data version, and relays the program's tag
 * lines, bounded (RUN_LIMITS.tagsPerRun distinct keys, MAX_SENDS messages of each kind).
 */
import type { Logger } from 'pino';
import type { RerunCheckMsg } from '../../shared/proto.js';
import { RUN_LIMITS, type Provenance } from '../../shared/run-model.js';
import type { ControlLine } from '../metrics/parse-line.js';
import { captureCode, captureData, staticParts, withProgramDataVersion, type CaptureInput } from './capture.js';
import { rerunDifferences } from '../../shared/rerun-check.js';

/** Per attempt, per kind (the coordinator refuses more: shared/wire-limits.ts PROVENANCE_LIMITS). */
export const MAX_SENDS = { provenance: 16, tags: 1000 } as const;

export interface ProvenanceSink {
  provenance(json: string): void;
  tags(tags: Record<string, string>): void;
}

export class AttemptProvenance {
  private readonly abort = new AbortController();
  private code: Promise<Provenance['code']> | undefined;
  private data: Promise<Provenance['data']> | undefined;
  private captured: Provenance | undefined;
  private programVersion: string | undefined;
  private digest: { digest: string; pinned: string } | undefined;
  private sends = 0;
  private tagSends = 0;
  private readonly tagValues = new Map<string, string>();
  private warned = new Set<string>();
  private done: Promise<void> | undefined;
  /** Something changed since the last record sent. */
  private changed = false;

  constructor(private readonly input: CaptureInput, private readonly sink: ProvenanceSink, private readonly log: Logger) {}

  /** Starts capturing (idempotent); resolves once the first record has been sent. */
  start(): Promise<void> {
    this.done ??= this.capture();
    return this.done;
  }

  private async capture(): Promise<void> {
    this.code = captureCode(this.input);
    this.data = captureData(this.input, this.abort.signal);
    try {
      const [code, data] = await Promise.all([this.code, this.data]);
      this.captured = { ...staticParts(this.input, Date.now()), code, data };
      this.send();
    } catch (err) {
      if (!this.abort.signal.aborted) this.log.warn({ err: (err as Error).message }, 'provenance capture failed');
    }
  }

  /** What differs from a rerun's record (waits for the capture: a rerun checks before it starts). */
  async differences(check: RerunCheckMsg): Promise<string[]> {
    void this.start();
    const [code, data] = await Promise.all([this.code!, this.data!]);
    return rerunDifferences(check, code, data);
  }

  /** The program has been started now (the attempt's start time on the record). */
  started(at = Date.now()): void {
    this.input.startedAt = at;
    if (this.captured) {
      this.captured.startedAt = at;
      this.changed = true;
    }
  }

  setImageDigest(digest: string, pinned: string): void {
    this.digest = { digest: digest.slice(0, 200), pinned: pinned.slice(0, 255) };
    this.send();
  }

  /** A control line of the program (parse-line.ts parseControlLine). */
  control(c: ControlLine): void {
    if ('invalid' in c) return this.warnOnce(c.invalid, 'program line ignored');
    if ('dataVersion' in c) {
      if (c.dataVersion === this.programVersion) return;
      this.programVersion = c.dataVersion;
      return this.send();
    }
    const { key, value } = c.tag;
    // coordinator/runs/provenance-report.ts refuses (and fails the trial for) Tunehive's own namespace.
    if (key.startsWith('tunehive.')) return this.warnOnce(`tag ${key.slice(0, 60)} is reserved (keys starting with "tunehive." are Tunehive's)`, 'program tag ignored');
    if (this.tagValues.get(key) === value) return;
    if (!this.tagValues.has(key) && this.tagValues.size >= RUN_LIMITS.tagsPerRun) return this.warnOnce(`more than ${RUN_LIMITS.tagsPerRun} tags`, 'program tag ignored');
    if (this.tagSends >= MAX_SENDS.tags) return this.warnOnce(`more than ${MAX_SENDS.tags} tag lines`, 'program tag ignored');
    this.tagSends++;
    this.tagValues.set(key, value);
    this.sink.tags({ [key]: value });
  }

  /**
   * Resolves once the capture is complete and its final record sent (before the attempt's
   * Finished). Hashing still running `maxWaitMs` after the program ended is cut short: the files
   * not hashed by then are recorded as such, and the exit is not held up by a huge file.
   */
  async settle(maxWaitMs = 30_000): Promise<void> {
    const done = this.start();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.abort.abort();
        resolve();
      }, maxWaitMs);
    });
    await Promise.race([done, late]);
    clearTimeout(timer);
    await done;
    if (this.changed) this.send();
  }

  private send(): void {
    if (!this.captured) return;
    if (this.sends >= MAX_SENDS.provenance) return this.warnOnce(`more than ${MAX_SENDS.provenance} provenance updates`, 'provenance update not sent');
    this.sends++;
    this.changed = false;
    const p: Provenance = { ...this.captured, capturedAt: Date.now() };
    if (this.programVersion !== undefined) p.data = withProgramDataVersion(p.data, this.programVersion);
    if (p.image && this.digest) p.image = { ...p.image, ...this.digest };
    this.sink.provenance(JSON.stringify(p));
  }

  private warnOnce(reason: string, msg: string): void {
    if (this.warned.has(reason)) return;
    this.warned.add(reason);
    this.log.warn({ reason }, msg);
  }
}

/**
 * A rerun's check before the program starts: undefined to go on (nothing differs, or `force`:
 * the differences are then tagged on the run), else the reason the attempt is refused with.
 */
export async function rerunRefusal(p: AttemptProvenance, check: RerunCheckMsg | undefined): Promise<string | undefined> {
  if (!check) return undefined;
  const differences = await p.differences(check);
  if (differences.length === 0) return undefined;
  // Forced: the coordinator tags the run with the differences, from the provenance it stores.
  if (check.force) return undefined;
  await p.settle();
  return `rerun of ${check.of} refused: ${differences.join('; ')}. Run \`tunehive rerun ${check.of} --force\` to run it anyway`;
}
