/**
 * MLflow SearchRuns over RunStore.search: the filter and order-by grammar is Tunehive's parser
 * of MLflow's (shared/run-filter), run_view_type is a clause on the lifecycle tag, and a page
 * of up to 50,000 runs is read as store pages of at most 1,000. The page token is the store's
 * (keyset, bound to the query: sending it with another filter is INVALID_PARAMETER_VALUE).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Filter, Key, OrderKey } from '../../shared/run-filter/ast.js';
import { parseFilter, parseOrderBy } from '../../shared/run-filter/parse-filter.js';
import type { RunView } from '../../shared/run-model.js';
import { who, type MlflowDeps } from './deps.js';
import { LIFECYCLE_TAG, runJson } from './mapping.js';
import { RunSchema } from './runs.js';
import { body, ERROR_RESPONSES, invalidParam, ViewTypeSchema, type ViewType } from './wire.js';

export const SEARCH_LIMITS = { defaultMaxResults: 1000, maxResults: 50_000, storePage: 1000 } as const;

/** MLflow names for what Tunehive keeps as attributes (the trial's synthesized tags included). */
function mlflowKey(k: Key): Key {
  if (k.kind === 'tag' && k.name === 'mlflow.runName') return { kind: 'attribute', name: 'run_name' };
  if (k.kind === 'tag' && k.name === 'mlflow.parentRunId') return { kind: 'attribute', name: 'parent_run_id' };
  if (k.kind === 'tag' && k.name === 'tunehive.state') return { kind: 'attribute', name: 'state' };
  return k;
}

function rewrite(f: Filter): Filter {
  if (f.type === 'clause') return { type: 'clause', clause: { ...f.clause, key: mlflowKey(f.clause.key) } };
  return { type: f.type, items: f.items.map(rewrite) };
}

function withView(f: Filter | undefined, view: ViewType | undefined): Filter | undefined {
  if (view === 'ALL') return f;
  const key: Key = { kind: 'tag', name: LIFECYCLE_TAG };
  const clause: Filter = view === 'DELETED_ONLY'
    ? { type: 'clause', clause: { key, op: '=', value: 'deleted', at: 0 } }
    : { type: 'clause', clause: { key, op: 'IS NULL', at: 0 } };
  return f ? { type: 'and', items: [f, clause] } : clause;
}

export async function searchRoutes(app: FastifyInstance, d: MlflowDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post('/runs/search', {
    schema: {
      summary: 'MLflow SearchRuns: filter (AND, and Tunehive\'s OR), order_by, max_results (default 1000, at most 50,000), page_token, run_view_type',
      body: body({
        experiment_ids: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }), filter: Type.String({ maxLength: 4000 }),
        run_view_type: ViewTypeSchema, max_results: Type.Integer({ minimum: 1, maximum: SEARCH_LIMITS.maxResults, description: `must be 1 to ${SEARCH_LIMITS.maxResults}` }),
        order_by: Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 20 }), page_token: Type.String({ maxLength: 8192 }),
      }),
      response: { 200: Type.Object({ runs: Type.Array(RunSchema), next_page_token: Type.Optional(Type.String()) }), ...ERROR_RESPONSES },
    },
    config: { auth: { token: true, note: 'only runs of experiments the token may read' } },
  }, async (req) => {
    const q = req.body;
    const parsed = parseFilter(q.filter ?? '');
    if (!parsed.ok) throw invalidParam('filter', `${parsed.error.message} (at position ${parsed.error.position}: expected ${parsed.error.expected})`);
    const order = parseOrderBy(q.order_by ?? []);
    if (!order.ok) throw invalidParam(`order_by[${order.error.index}]`, `${order.error.message} (at position ${order.error.position}: expected ${order.error.expected})`);
    const filter = withView(parsed.filter ? rewrite(parsed.filter) : undefined, q.run_view_type);
    const orderBy: OrderKey[] = order.keys.map((k) => ({ ...k, key: mlflowKey(k.key) }));
    const projects = await d.access.readable(who(req));
    const max = q.max_results ?? SEARCH_LIMITS.defaultMaxResults;
    const runs: RunView[] = [];
    let token: string | null = q.page_token || null;
    // Store pages of at most 1,000 until the page is full or the runs end: bounded by max_results.
    do {
      const page = await d.runs.search({
        projects, filter, orderBy, pageSize: Math.min(SEARCH_LIMITS.storePage, max - runs.length),
        ...(q.experiment_ids && q.experiment_ids.length > 0 ? { experimentIds: q.experiment_ids } : {}), ...(token ? { pageToken: token } : {}),
      } as Parameters<typeof d.runs.search>[0]);
      runs.push(...page.runs);
      token = page.nextPageToken;
    } while (token && runs.length < max);
    return { runs: runs.map(runJson), ...(token ? { next_page_token: token } : {}) };
  });
}
