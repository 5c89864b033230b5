/**
 * Full validation of a submitted study: the structural checks of the spec, then the checks
 * that belong to the coordinator's plug-ins (algorithm settings, early-stopping settings).
 * All at creation time, never mid-run; every problem is reported at once.
 */
import { invalidSpec } from '../shared/errors.js';
import { parseStudySpec, type StudySpec } from '../shared/study-spec.js';
import { validateAlgorithm } from './search/registry.js';
import { validateEarlyStopping } from './stopping/registry.js';

export function validateStudy(raw: unknown): StudySpec {
  const parsed = parseStudySpec(raw);
  if (!parsed.ok) throw invalidSpec(parsed.errors);
  const spec = parsed.spec;
  const errors = validateAlgorithm(spec.algorithm.name, spec.algorithm.settings, spec.searchSpace);
  if (spec.earlyStopping) errors.push(...validateEarlyStopping(spec.earlyStopping));
  if (errors.length > 0) throw invalidSpec(errors);
  return spec;
}
