/**
 * `spec.algorithm` -> `algorithm` (and, for hyperband, the `hyperband` rule). Katib names map to
 * Tunehive's samplers as katib-config.yaml maps them to engines; each algorithm takes the
 * settings its Katib suggestion service accepts (values are strings), translated to the
 * sampler's own; any other setting is refused, as Katib's services refuse it. `random_state` /
 * `seed` become the study's seed.
 */
import type { SearchSpace } from '../../shared/search-space.js';
import { describe, isObject, katibNumber, MapContext, show } from './context.js';

export interface MappedAlgorithm {
  algorithm: { name: string; seed?: number; settings: Record<string, unknown> };
  /** hyperband: the rule, and the parameter Katib sets to each trial's resource (Tunehive's budget). */
  hyperband?: { settings: Record<string, unknown>; resourceParam?: string };
}

type Translate = (ctx: MapContext, at: string, value: string, out: MappedAlgorithm, space: () => SearchSpace) => void;

const seed: Translate = (ctx, at, v, out) => {
  const n = katibNumber(v);
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 0xffffffff) return ctx.refuse(at, `must be an integer from 0 to ${0xffffffff} (got ${show(v)})`);
  out.algorithm.seed = n;
  ctx.map(at, 'algorithm.seed', n);
};
const numberTo = (key: string, int = false): Translate => (ctx, at, v, out) => {
  const n = katibNumber(v);
  if (n === undefined || (int && !Number.isInteger(n))) return ctx.refuse(at, `must be ${int ? 'an integer' : 'a number'} (got ${show(v)})`);
  out.algorithm.settings[key] = n;
  ctx.map(at, `algorithm.settings.${key}`, n);
};
const only = (allowed: readonly string[], why: string): Translate => (ctx, at, v) => {
  if (allowed.includes(v)) ctx.map(at, '(no setting needed)', undefined, `"${v}" is what Tunehive does`);
  else ctx.refuse(at, `${show(v)} is not supported: ${why}`);
};

const TPE_SETTINGS: Record<string, Translate> = {
  gamma: numberTo('gamma'), prior_weight: numberTo('priorWeight'), n_EI_candidates: numberTo('nEICandidates', true), random_state: seed,
};
const OPTUNA_TPE: Record<string, Translate> = {
  n_startup_trials: numberTo('nStartupTrials', true), n_ei_candidates: numberTo('nEICandidates', true), seed, random_state: seed,
};

const cmaSigma: Translate = (ctx, at, v, out, space) => {
  // Goptuna's sigma is in parameter units; Tunehive's sigma0 is a fraction of each range, so the
  // narrowest range is the reference (goptuna's own default is that range / 6).
  const n = katibNumber(v);
  const widths = Object.values(space()).flatMap((p) => (p.type === 'categorical' ? [] : [p.max - p.min]));
  if (n === undefined || !(n > 0)) return ctx.refuse(at, `must be a number > 0 (got ${show(v)})`);
  if (widths.length === 0) return ctx.refuse(at, 'needs a double or int parameter to be measured against');
  const sigma0 = n / Math.min(...widths);
  if (!(sigma0 <= 1)) return ctx.refuse(at, `${n} is wider than the narrowest parameter range (${Math.min(...widths)}); Tunehive's CMA-ES takes at most one range`);
  out.algorithm.settings.sigma0 = sigma0;
  ctx.map(at, 'algorithm.settings.sigma0', sigma0, 'sigma / the narrowest parameter range');
};

interface AlgorithmDef { tunehive: string; settings: Record<string, Translate>; base?: Record<string, unknown>; note?: string }

const ALGORITHMS: Record<string, AlgorithmDef> = {
  random: { tunehive: 'random', settings: { random_state: seed } },
  tpe: { tunehive: 'tpe', settings: TPE_SETTINGS, base: { multivariate: false }, note: 'independent per-parameter TPE, as hyperopt\'s' },
  'multivariate-tpe': { tunehive: 'tpe', settings: OPTUNA_TPE, base: { multivariate: true } },
  grid: { tunehive: 'grid', settings: { random_state: seed }, note: 'a double without step gets 5 grid points (Katib requires step)' },
  sobol: { tunehive: 'sobol', settings: { random_state: seed } },
  cmaes: {
    tunehive: 'cmaes', settings: {
      random_state: seed, sigma: cmaSigma,
      restart_strategy: (ctx, at, v, out) => {
        if (v === 'ipop' || v === 'none') {
          out.algorithm.settings.restart = v;
          ctx.map(at, 'algorithm.settings.restart', v);
        } else ctx.refuse(at, `${show(v)} is not supported (Tunehive's CMA-ES restarts with "ipop" or not at all: "none")`);
      },
    },
    base: { restart: 'none' }, note: 'goptuna restarts only when restart_strategy is set',
  },
  bayesianoptimization: {
    tunehive: 'gp', settings: {
      random_state: seed, n_initial_points: numberTo('nStartupTrials', true),
      base_estimator: only(['GP'], 'Tunehive\'s Bayesian optimisation is a Gaussian process ("GP"); RF, ET and GBRT surrogates have no equivalent'),
      acq_func: only(['gp_hedge', 'EI'], 'Tunehive\'s GP uses (log) expected improvement ("EI")'),
      acq_optimizer: only(['auto'], 'Tunehive optimises the acquisition its own way ("auto")'),
    },
  },
  hyperband: {
    tunehive: 'random', settings: {
      eta: (ctx, at, v, out) => setHyperband(ctx, at, v, out, 'reductionFactor', true),
      r_l: (ctx, at, v, out) => setHyperband(ctx, at, v, out, 'maxResource', false),
      resource_name: (ctx, at, v, out) => {
        out.hyperband!.resourceParam = v;
        ctx.map(at, '${trial.budget}', undefined, `the parameter "${v}" is each trial's budget (TUNEHIVE_BUDGET), set by the hyperband rule`);
      },
    },
    note: 'random sampling with the hyperband early-stopping rule',
  },
};

function setHyperband(ctx: MapContext, at: string, v: string, out: MappedAlgorithm, key: string, int: boolean): void {
  const n = katibNumber(v);
  if (n === undefined || (int && !Number.isInteger(n))) return ctx.refuse(at, `must be ${int ? 'an integer' : 'a number'} (got ${show(v)})`);
  out.hyperband!.settings[key] = n;
  ctx.map(at, `earlyStopping.settings.${key}`, n);
}

const NOT_SUPPORTED: Record<string, string> = {
  pbt: 'Population Based Training is not supported (it needs trials to exchange checkpoints mid-run)',
  enas: 'neural architecture search (ENAS) is not supported',
  darts: 'neural architecture search (DARTS) is not supported',
};

export function mapAlgorithm(ctx: MapContext, raw: unknown, space: () => SearchSpace): MappedAlgorithm | undefined {
  const at = 'spec.algorithm';
  if (!isObject(raw)) {
    ctx.refuse(at, `must be an object {algorithmName, algorithmSettings?} (${describe(raw)})`);
    return undefined;
  }
  ctx.unknownKeys(raw, at, ['algorithmName', 'algorithmSettings']);
  const name = raw.algorithmName;
  if (typeof name === 'string' && Object.hasOwn(NOT_SUPPORTED, name)) {
    ctx.refuse(`${at}.algorithmName`, `"${name}": ${NOT_SUPPORTED[name]}`);
    return undefined;
  }
  const def = typeof name === 'string' && Object.hasOwn(ALGORITHMS, name) ? ALGORITHMS[name]! : undefined;
  if (!def) {
    ctx.refuse(`${at}.algorithmName`, `must be one of ${Object.keys(ALGORITHMS).join(', ')} (${describe(name)})`);
    return undefined;
  }
  const out: MappedAlgorithm = { algorithm: { name: def.tunehive, settings: { ...def.base } } };
  if (name === 'hyperband') out.hyperband = { settings: {} };
  ctx.map(`${at}.algorithmName`, 'algorithm.name', def.tunehive, def.note);
  const settings = raw.algorithmSettings ?? [];
  if (!Array.isArray(settings)) {
    ctx.refuse(`${at}.algorithmSettings`, `must be a list of {name, value} (${describe(settings)})`);
    return out;
  }
  settings.forEach((s, i) => {
    const sat = `${at}.algorithmSettings[${i}]`;
    if (!isObject(s) || typeof s.name !== 'string') return ctx.refuse(sat, `must be an object {name, value} (${describe(s)})`);
    ctx.unknownKeys(s, sat, ['name', 'value']);
    if (typeof s.value !== 'string') return ctx.refuse(`${sat}.value`, `must be a string, as Katib's settings are (write "${String(s.value)}" in quotes)`);
    const tr = Object.hasOwn(def.settings, s.name) ? def.settings[s.name]! : undefined;
    if (!tr) return ctx.refuse(`${sat}.name`, `unknown setting "${s.name}" for ${String(name)} (known: ${Object.keys(def.settings).join(', ') || 'none'})`);
    tr(ctx, `${sat}.value`, s.value, out, space);
  });
  if (out.hyperband && out.hyperband.settings.maxResource === undefined) ctx.refuse(`${at}.algorithmSettings`, 'hyperband needs r_l, the most resource (epochs) a trial gets');
  return out;
}
