/**
 * The coordinator's check of a worker's provenance and tag reports (nothing from the wire is
 * trusted): the provenance must parse, fit ProvenanceSchema (its bounds are the record's) and
 * name the stream's attempt; tags must be keys and values the spec would accept; and one
 * attempt may send at most PER_ATTEMPT of each (the worker bounds itself below that).
 */
import { Compile, type Validator } from 'typebox/compile';
import { Value } from 'typebox/value';
import { ProvenanceSchema, RUN_LIMITS, type Provenance } from '../../shared/run-model.js';
import { TAG_KEY } from '../../shared/study-spec.js';
import { UnrecoverableError } from '../../shared/wire-limits.js';

/** The tag namespace a program may not write (the worker ignores such lines; the coordinator refuses them). */
export const PROGRAM_TAG_RESERVED = 'tunehive.';

export const PER_ATTEMPT = { provenance: 16, tags: 1000 } as const;
/** Bytes of one provenance report's JSON (1,000 env values of 8 KiB fit, a runaway does not). */
export const MAX_PROVENANCE_BYTES = 4 * 1024 * 1024;

const invalid = (field: string, reason: string) => new UnrecoverableError('TH_ERR_WIRE_INVALID', `${field}: ${reason}`, [{ field, reason }], true);
const tooLarge = (field: string, reason: string) => new UnrecoverableError('TH_ERR_WIRE_TOO_LARGE', `${field}: ${reason}`, [{ field, reason }], true);

let compiled: Validator | undefined;
/**
 * Whether a value fits ProvenanceSchema: the schema compiled once (every trial attempt sends a
 * record of its whole environment; the interpreted check was most of the cost of storing it).
 */
export function fitsProvenanceSchema(p: unknown): p is Provenance {
  compiled ??= Compile(ProvenanceSchema);
  return compiled.Check(p);
}

export function checkProvenanceReport(json: string, attempt: number, sentBefore: number): Provenance {
  if (sentBefore >= PER_ATTEMPT.provenance) throw tooLarge('provenance', `more than ${PER_ATTEMPT.provenance} provenance reports in one attempt`);
  if (json.length > MAX_PROVENANCE_BYTES) throw tooLarge('provenance.provenanceJson', `longer than ${MAX_PROVENANCE_BYTES} bytes`);
  let p: unknown;
  try {
    p = JSON.parse(json);
  } catch {
    throw invalid('provenance.provenanceJson', 'is not JSON');
  }
  if (!fitsProvenanceSchema(p)) {
    const first = [...Value.Errors(ProvenanceSchema, p)][0];
    throw invalid(`provenance${first?.instancePath.replace(/\//g, '.') ?? ''}`, first?.message ?? 'does not match the provenance schema');
  }
  if (p.attempt !== attempt) throw invalid('provenance.attempt', `is ${p.attempt}, but this stream is attempt ${attempt}`);
  return p;
}

export function checkTagReport(tags: Record<string, string>, sentBefore: number): Record<string, string> {
  if (sentBefore >= PER_ATTEMPT.tags) throw tooLarge('tags', `more than ${PER_ATTEMPT.tags} tag reports in one attempt`);
  const entries = Object.entries(tags);
  if (entries.length > RUN_LIMITS.tagsPerRun) throw tooLarge('tags', `more than ${RUN_LIMITS.tagsPerRun} tags in one report`);
  for (const [k, v] of entries) {
    if (k.length > RUN_LIMITS.tagKeyLength || !TAG_KEY.test(k)) throw invalid(`tags.${k.slice(0, 60)}`, 'is not a tag key (1 to 250 letters, digits, _ . - / and spaces)');
    // Tunehive's own tags (the MLflow lifecycle stage, rerun references) would let a program hide its run or forge its history.
    if (k.startsWith(PROGRAM_TAG_RESERVED)) throw invalid(`tags.${k.slice(0, 60)}`, `is reserved (keys starting with "${PROGRAM_TAG_RESERVED}" are Tunehive's)`);
    if (typeof v !== 'string' || v.length > RUN_LIMITS.tagValueLength) throw invalid(`tags.${k}`, `must be a string of at most ${RUN_LIMITS.tagValueLength} characters`);
  }
  return Object.fromEntries(entries);
}
