/**
 * Katib Experiment -> a validated Tunehive study spec: the mapping, then the same validation
 * every spec gets (validateStudy), with each problem it finds named by the Katib field it came
 * from. The one entry point for the API, `tunehive submit` (through the API) and `tunehive
 * katib check`.
 */
import type { FieldError } from '../../shared/errors.js';
import { TunehiveError } from '../../shared/errors.js';
import type { StudySpec } from '../../shared/study-spec.js';
import { validateStudy } from '../study-validation.js';
import type { MappingRow, Raw } from './context.js';
import { mapKatibExperiment } from './experiment.js';

export { isKatibExperiment, KATIB_API_VERSION } from './experiment.js';
export type { MappingRow } from './context.js';

export type KatibResult = { ok: true; spec: StudySpec; rows: MappingRow[] } | { ok: false; refusals: FieldError[]; rows: MappingRow[] };

export function studyFromKatib(doc: Raw): KatibResult {
  const mapped = mapKatibExperiment(doc);
  if (!mapped.ok) return mapped;
  try {
    return { ok: true, spec: validateStudy(mapped.spec), rows: mapped.rows };
  } catch (err) {
    if (!(err instanceof TunehiveError)) throw err;
    const refusals = err.fields.map((f) => translate(f, mapped.origins));
    return { ok: false, refusals, rows: [...mapped.rows, ...refusals.map((r) => ({ katib: r.field, tunehive: '-', status: 'refused' as const, note: r.reason }))] };
  }
}

/** A Tunehive field error named by the Katib field it came from (the longest known prefix). */
function translate(f: FieldError, origins: ReadonlyMap<string, string>): FieldError {
  let best: string | undefined;
  for (const k of origins.keys()) {
    const covers = f.field === k || f.field.startsWith(`${k}.`) || f.field.startsWith(`${k}[`);
    if (covers && (best === undefined || k.length > best.length)) best = k;
  }
  if (best === undefined) return f;
  return { field: origins.get(best)!, reason: `${f.reason} (Tunehive's ${f.field})` };
}
