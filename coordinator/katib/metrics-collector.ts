/**
 * `spec.metricsCollectorSpec` -> `trial.metricsCollector`. StdOut (Katib's default) reads the
 * program's output with Katib's default filter or the given `metricsFormat`; File follows the
 * file at `source.fileSystemPath.path` (TEXT lines with filters, or JSON lines); Push means the
 * program reports by itself, which in Tunehive is its native metric lines or the MLflow-style
 * API, so no collector is set. TensorFlowEvent, PrometheusMetric and Custom are refused.
 * The kept metrics are the objective and the additional metrics, as Katib keeps only those.
 */
import type { MetricsCollector } from '../../shared/study-spec.js';
import { filterProblem } from '../../shared/metric-filters.js';
import { describe, isObject, MapContext } from './context.js';

export const KATIB_FILE_PATH = '/var/log/katib/metrics.log';

const REFUSED: Record<string, string> = {
  TensorFlowEvent: 'reading TensorFlow event files is not supported (print the metrics, or write them to a File collector\'s file)',
  PrometheusMetric: 'scraping a Prometheus endpoint is not supported',
  Custom: 'custom collector containers are not supported (Tunehive runs no sidecars)',
  None: 'is not a collector kind in Katib v1beta1 (use Push to report from the program)',
};

export function mapMetricsCollector(ctx: MapContext, raw: unknown, metrics: string[]): MetricsCollector | undefined {
  const at = 'spec.metricsCollectorSpec';
  if (raw === undefined) {
    ctx.defaulted(at, 'trial.metricsCollector', { kind: 'stdout', format: 'text' }, 'Katib\'s default: StdOut with the default filter ([\\w|-]+)\\s*=\\s*(number), on stdout and stderr');
    return { kind: 'stdout', format: 'text', metrics };
  }
  if (!isObject(raw)) {
    ctx.refuse(at, `must be an object {collector, source?} (${describe(raw)})`);
    return undefined;
  }
  ctx.unknownKeys(raw, at, ['collector', 'source']);
  const collector = raw.collector ?? { kind: 'StdOut' };
  if (!isObject(collector)) {
    ctx.refuse(`${at}.collector`, `must be an object {kind} (${describe(collector)})`);
    return undefined;
  }
  ctx.unknownKeys(collector, `${at}.collector`, ['kind', 'customCollector']);
  const kind = collector.kind ?? 'StdOut';
  if (typeof kind === 'string' && Object.hasOwn(REFUSED, kind)) {
    ctx.refuse(`${at}.collector.kind`, `${kind} is not supported: ${REFUSED[kind]}`);
    return undefined;
  }
  if (kind !== 'StdOut' && kind !== 'File' && kind !== 'Push') {
    ctx.refuse(`${at}.collector.kind`, `must be StdOut, File or Push (${describe(kind)})`);
    return undefined;
  }
  if (collector.customCollector !== undefined) ctx.refuse(`${at}.collector.customCollector`, 'applies to kind Custom, which is not supported');
  const source = raw.source ?? {};
  if (!isObject(source)) {
    ctx.refuse(`${at}.source`, `must be an object {filter?, fileSystemPath?} (${describe(source)})`);
    return undefined;
  }
  ctx.unknownKeys(source, `${at}.source`, ['filter', 'fileSystemPath', 'httpGet']);
  if (source.httpGet !== undefined) ctx.refuse(`${at}.source.httpGet`, 'applies to PrometheusMetric collectors, which are not supported');

  if (kind === 'Push') {
    for (const k of ['filter', 'fileSystemPath']) if (source[k] !== undefined) ctx.refuse(`${at}.source.${k}`, 'does not apply to a Push collector (the program reports by itself)');
    ctx.map(`${at}.collector.kind`, 'trial.metricsCollector (none)', undefined,
      'Push: the program reports itself, with Tunehive\'s metric lines (name=value or a JSON object on stdout) or the MLflow-compatible log-metric API; kubeflow.katib.report_metrics() has no endpoint here');
    return undefined;
  }

  const filters = mapFilters(ctx, source.filter, `${at}.source.filter`);
  const out: MetricsCollector = { kind: kind === 'File' ? 'file' : 'stdout', format: 'text', metrics };
  if (filters) out.filters = filters;
  const fsp = source.fileSystemPath;
  if (kind === 'StdOut') {
    if (fsp !== undefined) ctx.refuse(`${at}.source.fileSystemPath`, 'applies to File collectors; StdOut reads the program\'s output');
    ctx.map(`${at}.collector.kind`, 'trial.metricsCollector', out, 'read from stdout and stderr, as Katib\'s StdOut collector (which redirects 2>&1)');
    return out;
  }
  let path = KATIB_FILE_PATH;
  let format: unknown = 'TEXT';
  if (fsp !== undefined) {
    if (!isObject(fsp)) {
      ctx.refuse(`${at}.source.fileSystemPath`, `must be an object {path, kind: File, format?} (${describe(fsp)})`);
      return undefined;
    }
    ctx.unknownKeys(fsp, `${at}.source.fileSystemPath`, ['path', 'kind', 'format']);
    if (fsp.kind !== undefined && fsp.kind !== 'File') ctx.refuse(`${at}.source.fileSystemPath.kind`, `must be File for a File collector (${describe(fsp.kind)}; Directory is for TensorFlowEvent, which is not supported)`);
    if (fsp.path !== undefined) {
      if (typeof fsp.path !== 'string' || !fsp.path.startsWith('/')) ctx.refuse(`${at}.source.fileSystemPath.path`, `must be an absolute path (Katib's rule) (${describe(fsp.path)})`);
      else path = fsp.path;
    }
    format = fsp.format ?? 'TEXT';
  }
  if (format !== 'TEXT' && format !== 'JSON') {
    ctx.refuse(`${at}.source.fileSystemPath.format`, `must be TEXT or JSON (${describe(format)})`);
    return undefined;
  }
  if (format === 'JSON' && filters) ctx.refuse(`${at}.source.filter`, 'cannot be used with format JSON (Katib\'s rule: JSON lines are read by metric name)');
  out.path = path;
  out.format = format === 'JSON' ? 'json' : 'text';
  if (format === 'JSON') delete out.filters;
  ctx.map(`${at}.collector.kind`, 'trial.metricsCollector', out, fsp === undefined ? `Katib's default path ${KATIB_FILE_PATH}` : undefined);
  return out;
}

function mapFilters(ctx: MapContext, raw: unknown, at: string): string[] | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    ctx.refuse(at, `must be an object {metricsFormat} (${describe(raw)})`);
    return undefined;
  }
  ctx.unknownKeys(raw, at, ['metricsFormat']);
  const list = raw.metricsFormat;
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length === 0) {
    ctx.refuse(`${at}.metricsFormat`, `must be a non-empty list of regular expressions (${describe(list)})`);
    return undefined;
  }
  const ok: string[] = [];
  list.forEach((f, i) => {
    if (typeof f !== 'string' || f === '') return ctx.refuse(`${at}.metricsFormat[${i}]`, `must be a regular expression (${describe(f)})`);
    const problem = filterProblem(f);
    if (problem) return ctx.refuse(`${at}.metricsFormat[${i}]`, problem);
    ok.push(f);
  });
  return ok.length === list.length ? ok : undefined;
}
