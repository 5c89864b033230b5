/** models:/ URIs (MLflow's `_parse_model_uri`), run sources, names, and the registry search grammar. */
import { describe, expect, it } from 'vitest';
import { checkAlias, checkModelName, parseModelUri, parseRunSource } from '../../coordinator/registry/model-registry.js';
import { matchesClauses, parseRegistryFilter, parseRegistryOrderBy } from '../../coordinator/mlflow/registry-search.js';

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('models:/ URIs', () => {
  it.each([
    ['models:/fraud/3', { name: 'fraud', kind: 'version', version: 3 }],
    ['models:/fraud/Production', { name: 'fraud', kind: 'stage', stage: 'Production' }],
    ['models:/fraud/staging', { name: 'fraud', kind: 'stage', stage: 'Staging' }],
    ['models:/fraud/latest', { name: 'fraud', kind: 'latest' }],
    ['models:/fraud@champion', { name: 'fraud', kind: 'alias', alias: 'champion' }],
    ['models:/my model.v2@prod_1', { name: 'my model.v2', kind: 'alias', alias: 'prod_1' }],
    ['models:///fraud/1', { name: 'fraud', kind: 'version', version: 1 }],
  ])('%s', (uri, ref) => expect(parseModelUri(uri)).toEqual(ref));

  it.each(['runs:/x/model', 'models:/fraud', 'models:/fraud/0', 'models:/fraud/Prod', 'models:/fraud/1@champion', 'models:/fra/ud/1', 'models:/fraud@3x', 'models:/@champion', 'models:/fraud@latest'])(
    'refuses %s', (uri) => expect(codeOf(() => parseModelUri(uri))).toMatch(/^TH_ERR_(MODEL_URI_INVALID|REQUEST_INVALID)$/));

  it('reads run sources in both forms and refuses others', () => {
    expect(parseRunSource('runs:/abc.1/model')).toEqual({ runId: 'abc.1', path: 'model' });
    expect(parseRunSource('runs:/abc.1')).toEqual({ runId: 'abc.1', path: '' });
    expect(parseRunSource('mlflow-artifacts:/abc/abc.1/artifacts/model/')).toEqual({ runId: 'abc.1', path: 'model' });
    expect(codeOf(() => parseRunSource('s3://bucket/model'))).toBe('TH_ERR_MODEL_URI_INVALID');
  });

  it('bounds names and aliases', () => {
    expect(checkModelName('a'.repeat(128))).toHaveLength(128);
    for (const bad of ['', 'a'.repeat(129), ' lead', 'trail ', 'a/b', 'a@b', 'a:b', 'x{y}']) expect(codeOf(() => checkModelName(bad)), bad).toBe('TH_ERR_REQUEST_INVALID');
    expect(checkAlias('_x-1')).toBe('_x-1');
    for (const bad of ['1st', 'latest', 'LATEST', 'a b', 'a'.repeat(257)]) expect(codeOf(() => checkAlias(bad)), bad).toBe('TH_ERR_REQUEST_INVALID');
  });
});

describe('registry search filters', () => {
  const keys = new Set(['name', 'tags', 'run_id', 'version_number']);
  const row: Record<string, string | number> = { name: 'fraud-v2', 'tags.team': 'risk', 'tags.my key': 'x', run_id: 'a.1', version_number: 3 };
  const hit = (f: string) => matchesClauses((k) => row[k], parseRegistryFilter(f, keys));

  it.each([
    ["name = 'fraud-v2'", true], ["name != 'fraud-v2'", false], ["name LIKE 'fraud%'", true], ["name LIKE 'FRAUD%'", false], ["name ILIKE 'FRAUD%'", true],
    ["name LIKE 'fraud_v2'", true], ["tags.team = 'risk' AND name LIKE '%v2'", true], ["tags.team = 'ops'", false], ["tags.`my key` = 'x'", true],
    ["tags.missing != 'x'", true], ["run_id IN ('a.1', 'b.2')", true], ["run_id NOT IN ('a.1')", false], ['version_number >= 3', true], ['version_number < 3', false],
    ['name = "fraud-v2"', true], ["name = 'fraud-v2' and version_number = 3", true],
  ])('%s -> %s', (f, want) => expect(hit(f)).toBe(want));

  it.each(["name = 'a' OR name = 'b'", "params.x = 'y'", 'name', "name ~ 'x'", "name IN 'x'", "name = 'a' AND"])('refuses %s', (f) =>
    expect(codeOf(() => parseRegistryFilter(f, keys))).toBe('INVALID_PARAMETER_VALUE'));

  it('order_by keys with directions', () => {
    expect(parseRegistryOrderBy(['name DESC', 'version_number'], keys)).toEqual([{ key: 'name', desc: true }, { key: 'version_number', desc: false }]);
    expect(codeOf(() => parseRegistryOrderBy(['metrics.f1 DESC'], keys))).toBe('INVALID_PARAMETER_VALUE');
  });
});
