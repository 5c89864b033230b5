/**
 * The grid of a conditional space: every valid combination once, a combination being a value
 * for each *active* parameter (a random forest's max_depth is not crossed with a gradient
 * boosting's learning_rate). Like the flat grid it is never listed: the parameters are taken
 * parents first (conditionOrder), and a point's index is read digit by digit. A parameter that
 * is nobody's parent is a mixed-radix digit (its value changes nothing after it); a parent
 * splits the remaining index range into one block per value, each as large as the number of
 * combinations below that branch. Those counts are memoised by position and by the values of
 * the earlier parents that still decide something later, so an index costs O(parameters)
 * lookups after the first ask, whatever the size of the grid.
 */
import { conditionHolds, conditionOrder } from '../../shared/conditional-space.js';
import type { ParamValue, Params, SearchSpace } from '../../shared/search-space.js';
import type { GridAxis } from './grid.js';

/** What the grid walk needs of a grid: its size, point i, and the inverse. */
export interface GridIndex {
  size: number;
  point(index: number): Params;
  /** The index of a point, or -1 when it is not on the grid (a value off an axis, a parameter too many or missing). */
  position(params: Params): number;
}

/**
 * Counting states (position x values of the parents still deciding something) a grid may need.
 * conditionOrder keeps them few for real spaces; a contrived one (many parents whose children
 * all come after every parent) would need exponentially many, and is refused at validation.
 */
export const MAX_GRID_STATES = 20_000;

export class GridTooEntangled extends Error {}

export class ConditionalGrid implements GridIndex {
  readonly size: number;
  private readonly order: readonly string[];
  private readonly axes: GridAxis[];
  private readonly isParent: boolean[];
  /** Per position: the positions before it of parents with a child at or after it. */
  private readonly live: number[][];
  private readonly memo = new Map<string, number>();

  constructor(private readonly space: SearchSpace, axisOf: (name: string) => GridAxis) {
    this.order = conditionOrder(space);
    this.axes = this.order.map(axisOf);
    const parents = new Set(Object.values(space).flatMap((p) => Object.keys(p.when ?? {})));
    this.isParent = this.order.map((n) => parents.has(n));
    const posOf = new Map(this.order.map((n, i) => [n, i]));
    const lastChild = this.order.map(() => -1);
    this.order.forEach((n, i) => {
      for (const parent of Object.keys(space[n]!.when ?? {})) {
        const j = posOf.get(parent);
        if (j !== undefined) lastChild[j] = Math.max(lastChild[j]!, i);
      }
    });
    this.live = this.order.map((_, pos) => lastChild.flatMap((last, j) => (j < pos && last >= pos ? [j] : [])));
    this.size = this.count(0, new Set(), {});
  }

  /** Combinations of the parameters from `pos` on, given the earlier choices (restored on return). */
  private count(pos: number, active: Set<string>, params: Params): number {
    if (pos === this.order.length) return 1;
    const key = this.key(pos, active, params);
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    if (this.memo.size >= MAX_GRID_STATES) throw new GridTooEntangled(`counting this conditional grid needs more than ${MAX_GRID_STATES} states of its parents' values`);
    const name = this.order[pos]!;
    const axis = this.axes[pos]!;
    let n: number;
    if (!conditionHolds(this.space[name]!, active, params)) n = this.count(pos + 1, active, params);
    else if (!this.isParent[pos]) n = axis.size * this.count(pos + 1, active, params);
    else {
      n = 0;
      active.add(name);
      for (let i = 0; i < axis.size; i++) {
        params[name] = axis.at(i);
        n += this.count(pos + 1, active, params);
      }
      active.delete(name);
      delete params[name];
    }
    this.memo.set(key, n);
    return n;
  }

  private key(pos: number, active: Set<string>, params: Params): string {
    let k = String(pos);
    for (const j of this.live[pos]!) {
      const name = this.order[j]!;
      k += active.has(name) ? `|${this.axes[j]!.indexOf(params[name])}` : '|-';
    }
    return k;
  }

  point(index: number): Params {
    const active = new Set<string>();
    const params: Params = {};
    let rest = index;
    for (let pos = 0; pos < this.order.length; pos++) {
      const name = this.order[pos]!;
      if (!conditionHolds(this.space[name]!, active, params)) continue;
      const axis = this.axes[pos]!;
      active.add(name);
      if (!this.isParent[pos]) {
        const below = this.count(pos + 1, active, params);
        params[name] = axis.at(Math.floor(rest / below));
        rest %= below;
        continue;
      }
      for (let i = 0; i < axis.size; i++) {
        params[name] = axis.at(i);
        const below = this.count(pos + 1, active, params);
        if (rest < below || i === axis.size - 1) break;
        rest -= below;
      }
    }
    return params;
  }

  position(params: Params): number {
    const active = new Set<string>();
    const chosen: Params = {};
    let index = 0;
    let matched = 0;
    for (let pos = 0; pos < this.order.length; pos++) {
      const name = this.order[pos]!;
      const has = Object.hasOwn(params, name);
      if (!conditionHolds(this.space[name]!, active, chosen)) {
        if (has) return -1;
        continue;
      }
      const axis = this.axes[pos]!;
      const i = has ? axis.indexOf(params[name]) : -1;
      if (i === -1) return -1;
      matched++;
      active.add(name);
      if (!this.isParent[pos]) {
        index += i * this.count(pos + 1, active, chosen);
        continue;
      }
      for (let u = 0; u < i; u++) {
        chosen[name] = axis.at(u);
        index += this.count(pos + 1, active, chosen);
      }
      chosen[name] = params[name] as ParamValue;
    }
    return matched === Object.keys(params).length ? index : -1;
  }
}
