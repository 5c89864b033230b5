/**
 * Parameters <-> the GP's feature vectors. Numeric parameters become their unit-cube coordinate
 * (toUnit: log scaling and int/step cells come from the space, nothing is re-derived here);
 * categorical ones become their category index, which the kernel compares by equality. Numeric
 * parameters with a single value and one-category parameters carry no information and are left
 * out of the model (they are filled in on decode).
 *
 * Conditional spaces: one model over every dimension, with each parameter that is inactive in
 * a trial imputed with a fixed value outside its range (INACTIVE_NUM below a numeric range, the
 * extra level `levels` of a categorical) — the imputation method of Lévesque et al. (2017),
 * "Bayesian optimization for conditional hyperparameter spaces". Why this rather than one GP
 * per branch: the shared parameters (the branch choice itself, n_estimators, ...) keep being
 * learnt from every trial, and a branch with few trials borrows from the rest; the kernel sees
 * all trials lacking a parameter as equal in that dimension and as far from every active value,
 * so the fitted length scale decides how much the branches inform each other. `snap` imputes
 * too, so the acquisition scores exactly the point a trial would record.
 */
import { cardinality, fromUnit, isNumeric, toUnit, type CategoricalParam, type ParamSpec, type Params, type SearchSpace } from '../../../shared/search-space.js';
import type { Rng } from '../../../shared/rng.js';
import { activeNames, activeParams, isConditional } from '../../../shared/conditional-space.js';

/** A numeric feature of an inactive parameter: one box width below the unit interval. */
export const INACTIVE_NUM = -1;

export interface Dim {
  name: string;
  spec: ParamSpec;
  /** Categorical: feature is an index in [0, levels). */
  cat: boolean;
  levels: number;
  /** Int or stepped float: feature must sit on a cell centre after optimisation. */
  discrete: boolean;
}

export class SpaceEncoding {
  readonly dims: Dim[] = [];
  readonly D: number;
  readonly isCat: Uint8Array;
  /** Parameters outside the model, with their only value. */
  private readonly constant: Params = {};
  /** Whether inactive parameters are imputed (the space has conditions). */
  readonly conditional: boolean;

  constructor(readonly space: SearchSpace) {
    for (const [name, spec] of Object.entries(space)) {
      const levels = cardinality(spec);
      const trivial = isNumeric(spec) ? spec.min === spec.max || levels === 1 : levels <= 1;
      if (trivial) {
        this.constant[name] = fromUnit(spec, 0.5);
        continue;
      }
      this.dims.push({ name, spec, cat: spec.type === 'categorical', levels, discrete: isNumeric(spec) && Number.isFinite(levels) });
    }
    this.D = this.dims.length;
    this.isCat = Uint8Array.from(this.dims.map((d) => (d.cat ? 1 : 0)));
    this.conditional = isConditional(space);
  }

  /** The feature of dimension d when its parameter is inactive. */
  imputed(d: number): number {
    const dim = this.dims[d]!;
    return dim.cat ? dim.levels : INACTIVE_NUM;
  }

  /** The categorical values a feature vector holds (all that activity depends on), constants included. */
  private categories(x: ArrayLike<number>): Params {
    const params: Params = { ...this.constant };
    for (let d = 0; d < this.D; d++) {
      const dim = this.dims[d]!;
      const level = x[d]!;
      if (dim.cat && level >= 0 && level < dim.levels) params[dim.name] = (dim.spec as CategoricalParam).values[Math.round(level)]!;
    }
    return params;
  }

  /** Which dimensions are active at x (all of them in a space without conditions). */
  activeDims(x: ArrayLike<number>): boolean[] {
    if (!this.conditional) return this.dims.map(() => true);
    const active = activeNames(this.space, this.categories(x));
    return this.dims.map((dim) => active.has(dim.name));
  }

  /** Features of a trial's params, or null when a value is missing or not in the space (left out of the model). */
  encode(params: Params, out: Float64Array = new Float64Array(this.D)): Float64Array | null {
    const active = this.conditional ? activeNames(this.space, params) : undefined;
    for (let d = 0; d < this.D; d++) {
      const dim = this.dims[d]!;
      if (active && !active.has(dim.name)) {
        out[d] = this.imputed(d);
        continue;
      }
      const v = params[dim.name];
      if (v === undefined) return null;
      if (dim.cat) {
        const i = (dim.spec as CategoricalParam).values.findIndex((c) => c === v);
        if (i < 0) return null;
        out[d] = i;
      } else {
        if (typeof v !== 'number' || !Number.isFinite(v)) return null;
        if ((dim.spec as { log?: boolean }).log && v <= 0) return null;
        out[d] = toUnit(dim.spec, v);
      }
    }
    return out;
  }

  decode(x: ArrayLike<number>): Params {
    const params: Params = {};
    let d = 0;
    for (const name of Object.keys(this.space)) {
      if (Object.hasOwn(this.constant, name)) {
        params[name] = this.constant[name]!;
        continue;
      }
      const dim = this.dims[d]!;
      const v = x[d++]!;
      if (this.conditional && v === this.imputed(d - 1)) continue;
      params[name] = dim.cat ? (dim.spec as CategoricalParam).values[Math.round(v)]! : fromUnit(dim.spec, v);
    }
    // Whatever a vector holds for inactive dimensions, a trial has its active parameters only.
    return this.conditional ? activeParams(this.space, params) : params;
  }

  /**
   * Moves a feature vector onto a representable point in place: discrete numeric features to
   * their cell centre, categories to a valid index. The model then scores exactly what decode
   * will return.
   */
  snap(x: Float64Array): Float64Array {
    for (let d = 0; d < this.D; d++) {
      const dim = this.dims[d]!;
      const u = Math.min(1, Math.max(0, x[d]!));
      if (dim.cat) x[d] = Math.min(dim.levels - 1, Math.max(0, Math.round(x[d]!)));
      else x[d] = dim.discrete ? toUnit(dim.spec, fromUnit(dim.spec, u)) : u;
    }
    if (this.conditional) {
      // Categories first (above), then what they leave inactive takes its imputed value.
      const active = this.activeDims(x);
      for (let d = 0; d < this.D; d++) if (!active[d]) x[d] = this.imputed(d);
    }
    return x;
  }

  /** A uniform random feature vector (snapped). */
  random(rng: Rng, out: Float64Array = new Float64Array(this.D)): Float64Array {
    for (let d = 0; d < this.D; d++) {
      const dim = this.dims[d]!;
      out[d] = dim.cat ? rng.int(dim.levels) : rng.next();
    }
    return this.snap(out);
  }
}
