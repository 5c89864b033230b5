/**
 * TPE's view of a search space: every numeric parameter as a coordinate in [0, 1] (through the
 * shared toUnit/fromUnit, so log scale and int steps come from one place), every categorical as
 * an index.
 */
import { cardinality, contains, fromUnit, toUnit, type CategoricalParam, type FloatParam, type IntParam, type ParamValue, type Params, type SearchSpace } from '../../../shared/search-space.js';

export type Dim =
  | { kind: 'num'; name: string; spec: FloatParam | IntParam; /** width of one value's cell in [0, 1]; 0 for a plain float */ cell: number }
  | { kind: 'cat'; name: string; spec: CategoricalParam; n: number };

export function encodeSpace(space: SearchSpace): Dim[] {
  return Object.entries(space).map(([name, spec]): Dim => {
    if (spec.type === 'categorical') return { kind: 'cat', name, spec, n: spec.values.length };
    const card = cardinality(spec);
    return { kind: 'num', name, spec, cell: Number.isFinite(card) ? 1 / card : 0 };
  });
}

/**
 * A trial's parameters as a point (unit coordinates / category indices), or null when they do
 * not fit this space. With `missing` (conditional spaces), a parameter the trial does not have
 * is NaN: the trial then informs only the groups of parameters it has.
 */
export function encodeParams(dims: readonly Dim[], params: Params, missing = false): Float64Array | null {
  const x = new Float64Array(dims.length);
  for (let d = 0; d < dims.length; d++) {
    const dim = dims[d]!;
    const v = params[dim.name];
    if (v === undefined && missing) {
      x[d] = Number.NaN;
      continue;
    }
    if (v === undefined || !contains(dim.spec, v)) return null;
    if (dim.kind === 'cat') x[d] = dim.spec.values.findIndex((c) => c === v);
    else x[d] = toUnit(dim.spec, v);
  }
  return x;
}

/** Where a unit coordinate lands once the parameter's grid is applied (the centre of an int's cell). */
export function snapUnit(dim: Dim, u: number): number {
  return dim.kind === 'num' && dim.cell > 0 ? toUnit(dim.spec, fromUnit(dim.spec, u)) : u;
}

export function decodeDim(dim: Dim, u: number): ParamValue {
  return dim.kind === 'cat' ? dim.spec.values[u]! : fromUnit(dim.spec, u);
}

export function decodePoint(dims: readonly Dim[], x: ArrayLike<number>): Params {
  const params: Params = {};
  for (let d = 0; d < dims.length; d++) params[dims[d]!.name] = decodeDim(dims[d]!, x[d]!);
  return params;
}
