/**
 * The parsed form of MLflow's run filter and order-by grammar (issue 11). `parse-filter.ts`
 * builds it from text (a malformed filter is an error with the position and what was expected
 * there); the search executor plans indexes from it; `evaluate.ts` is the reference semantics
 * (a run matches or not), which the executor's results must equal.
 *
 * Semantics, as MLflow's: a metric in a filter means its latest value; params and tags compare as
 * strings; `attributes.start_time` / `end_time` compare as numbers (ms); a clause on a key the run
 * does not have is false, except `IS NULL`.
 */

/** The identifier families of MLflow's grammar. `attributes.*` names: see ATTRIBUTES. */
export type KeyKind = 'metric' | 'param' | 'tag' | 'attribute';

/** The attributes a filter or order-by may name (MLflow's spellings, plus Tunehive's `state`). */
export const ATTRIBUTES = ['run_id', 'run_name', 'status', 'start_time', 'end_time', 'experiment_id', 'state', 'parent_run_id'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

export interface Key { kind: KeyKind; name: string }

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

export type Literal = string | number;

export interface Clause {
  key: Key;
  op: Comparator;
  /** Absent for IS [NOT] NULL; an array for [NOT] IN; a number for metrics and numeric attributes. */
  value?: Literal | Literal[];
  /** Where the clause starts in the filter text (0-based), for messages. */
  at: number;
}

/** AND binds tighter than OR (the OR extension); a filter without OR is one `and` node or a clause. */
export type Filter =
  | { type: 'clause'; clause: Clause }
  | { type: 'and'; items: Filter[] }
  | { type: 'or'; items: Filter[] };

export interface OrderKey { key: Key; direction: 'ASC' | 'DESC' }

/** A parse failure: `position` is 0-based in the text, `expected` says what would have been valid there. */
export interface FilterSyntaxError { position: number; expected: string; message: string }
