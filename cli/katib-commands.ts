/**
 * `tunehive katib check FILE`: how a Katib Experiment maps onto a Tunehive study, field by
 * field, without a coordinator (the same mapping and validation POST /api/v1/studies runs).
 * Exit 0 when it would be accepted, 2 when anything is refused (each refusal names the Katib
 * field and says why).
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { safeText, table } from './format.js';

export class KatibUsageError extends Error {
  override name = 'UsageError';
}

export async function katibCommand(sub: string | undefined, args: string[], say: (m: string) => void): Promise<number> {
  if (sub !== 'check') throw new KatibUsageError(`unknown katib command "${sub ?? ''}": tunehive katib check FILE`);
  const file = args[0];
  if (!file) throw new KatibUsageError('tunehive katib check needs an Experiment file: tunehive katib check experiment.yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KatibUsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const { isKatibExperiment, studyFromKatib } = await import('../coordinator/katib/index.js');
  let refused = false;
  for (const [i, doc] of list.entries()) {
    const where = list.length > 1 ? `${file} (document ${i + 1})` : file;
    if (doc.errors.length > 0) {
      say(`${where}: not valid YAML: ${doc.errors[0]!.message}`);
      refused = true;
      continue;
    }
    const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (!isKatibExperiment(raw)) {
      say(`${where}: not a Katib Experiment (it needs apiVersion: kubeflow.org/v1beta1 and kind: Experiment)`);
      refused = true;
      continue;
    }
    const r = studyFromKatib(raw);
    console.log(`${safeText(where)}: ${r.ok ? 'accepted' : `refused (${r.refusals.length} field${r.refusals.length === 1 ? '' : 's'})`}`);
    console.log(table(['Katib field', 'Tunehive', 'how', 'note'], r.rows.map((row) => [safeText(row.katib), safeText(row.tunehive), row.status, safeText(row.note ?? '')])));
    if (!r.ok) {
      refused = true;
      console.log('\nRefused:');
      for (const f of r.refusals) console.log(`  ${safeText(f.field)}: ${safeText(f.reason)}`);
    }
  }
  return refused ? 2 : 0;
}
