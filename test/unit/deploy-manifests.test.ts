/**
 * Structural checks of everything under deploy/: each YAML document parses, and a small
 * hand-written schema catches what `kubectl apply` or `docker compose up` would only reveal on
 * a cluster (a Service selecting no pod, a missing ConfigMap key, a $(VAR) never defined).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');

type Obj = Record<string, any>;
interface Doc { file: string; doc: Obj }

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const rel = (p: string) => path.relative(ROOT, p);

const yamlFiles = walk(DEPLOY).filter((f) => /\.ya?ml$/.test(f));
const parsed: Doc[] = [];
const parseErrors: string[] = [];
for (const file of yamlFiles) {
  for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
    for (const e of [...d.errors, ...d.warnings]) parseErrors.push(`${rel(file)}: ${e.message}`);
    const doc = d.toJS() as Obj | null;
    if (doc) parsed.push({ file, doc });
  }
}
const isCompose = (f: string) => /docker-compose[^/]*\.ya?ml$/.test(f);
const compose = parsed.filter((d) => isCompose(d.file));
const kustomizations = parsed.filter((d) => d.doc.kind === 'Kustomization');
const k8s = parsed.filter((d) => !isCompose(d.file) && d.doc.kind !== 'Kustomization');

const KINDS: Record<string, string> = {
  Namespace: 'v1', ConfigMap: 'v1', Secret: 'v1', Service: 'v1', ServiceAccount: 'v1', PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', NetworkPolicy: 'networking.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1', RoleBinding: 'rbac.authorization.k8s.io/v1',
};
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet'];
const byKind = (kind: string) => k8s.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const find = (kind: string, name: string) => byKind(kind).find((d) => d.metadata?.name === name);
const workloads = () => k8s.filter((d) => WORKLOADS.includes(d.doc.kind)).map((d) => d.doc);
const containersOf = (w: Obj): Obj[] => [...(w.spec?.template?.spec?.initContainers ?? []), ...(w.spec?.template?.spec?.containers ?? [])];
const subset = (small: Obj | undefined, big: Obj | undefined) => !!small && Object.keys(small).length > 0 && Object.entries(small).every(([k, v]) => big?.[k] === v);
const at = (d: Obj) => `${d.kind}/${d.metadata?.name}`;

describe('deploy/ YAML', () => {
  it('finds the manifests and every document parses', () => {
    expect(yamlFiles.map(rel)).toEqual(expect.arrayContaining(['deploy/docker-compose.yml', 'deploy/k8s/kustomization.yaml']));
    expect(parseErrors).toEqual([]);
  });
});

describe('Kubernetes manifests', () => {
  it('have apiVersion, a known kind, a name, and sit in the tunehive namespace', () => {
    expect(k8s.length).toBeGreaterThan(8);
    const seen = new Set<string>();
    for (const { file, doc } of k8s) {
      const where = `${rel(file)} ${at(doc)}`;
      expect(KINDS[doc.kind], `${where}: unknown kind`).toBeDefined();
      expect(doc.apiVersion, where).toBe(KINDS[doc.kind]);
      expect(doc.metadata?.name, where).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect([undefined, 'tunehive'], where).toContain(doc.metadata.namespace);
      expect(seen.has(at(doc)), `${where}: defined twice`).toBe(false);
      seen.add(at(doc));
    }
    for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'StatefulSet', 'Deployment', 'DaemonSet']) {
      expect(byKind(kind).length, kind).toBeGreaterThan(0);
    }
  });

  it('workloads select their own pods, run non-root, and every container has an image and resources', () => {
    for (const w of workloads()) {
      expect(subset(w.spec.selector?.matchLabels, w.spec.template?.metadata?.labels), `${at(w)}: selector does not match its pod labels`).toBe(true);
      const pod = w.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, at(w)).toBe(true);
      expect(pod.automountServiceAccountToken, `${at(w)}: no Kubernetes API use, so no token`).toBe(false);
      if (pod.serviceAccountName) expect(find('ServiceAccount', pod.serviceAccountName), `${at(w)}: ServiceAccount ${pod.serviceAccountName}`).toBeDefined();
      for (const c of containersOf(w)) {
        const where = `${at(w)} container ${c.name}`;
        expect(c.image, where).toMatch(/^[a-z0-9./_-]+:[\w.-]+$/);
        expect(c.resources?.requests?.memory, `${where}: memory request`).toBeDefined();
        expect(c.resources?.limits?.memory, `${where}: memory limit`).toBeDefined();
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.capabilities?.drop, where).toContain('ALL');
        // Kubernetes leaves an undefined $(VAR) in args as literal text, silently.
        const defined = new Set((c.env ?? []).map((e: Obj) => e.name));
        for (const arg of [...(c.args ?? []), ...(c.command ?? [])]) {
          for (const m of String(arg).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) expect(defined.has(m[1]), `${where}: $(${m[1]}) is not in env`).toBe(true);
        }
        const volumes = new Set((pod.volumes ?? []).map((v: Obj) => v.name));
        for (const t of w.spec.volumeClaimTemplates ?? []) volumes.add(t.metadata.name);
        for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `${where}: volume ${m.name}`).toBe(true);
      }
    }
  });

  it('every ConfigMap and Secret key referenced exists', () => {
    const refs: Array<{ kind: 'ConfigMap' | 'Secret'; name: string; key?: string; where: string }> = [];
    for (const w of workloads()) {
      for (const c of containersOf(w)) {
        for (const e of c.env ?? []) {
          const cm = e.valueFrom?.configMapKeyRef;
          const sk = e.valueFrom?.secretKeyRef;
          if (cm) refs.push({ kind: 'ConfigMap', name: cm.name, key: cm.key, where: `${at(w)} env ${e.name}` });
          if (sk) refs.push({ kind: 'Secret', name: sk.name, key: sk.key, where: `${at(w)} env ${e.name}` });
        }
        for (const ef of c.envFrom ?? []) {
          if (ef.configMapRef) refs.push({ kind: 'ConfigMap', name: ef.configMapRef.name, where: at(w) });
          if (ef.secretRef) refs.push({ kind: 'Secret', name: ef.secretRef.name, where: at(w) });
        }
      }
      for (const v of w.spec.template.spec.volumes ?? []) {
        if (v.configMap) refs.push({ kind: 'ConfigMap', name: v.configMap.name, where: `${at(w)} volume ${v.name}` });
        if (v.secret) refs.push({ kind: 'Secret', name: v.secret.secretName, where: `${at(w)} volume ${v.name}` });
      }
    }
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) {
      const target = find(r.kind, r.name);
      expect(target, `${r.where}: ${r.kind} ${r.name} missing`).toBeDefined();
      if (r.key) expect({ ...target!.data, ...target!.stringData }, `${r.where}: key ${r.key}`).toHaveProperty([r.key]);
    }
  });

  it('Services select pods of a workload and target ports those pods name', () => {
    for (const s of byKind('Service')) {
      const owners = workloads().filter((w) => subset(s.spec.selector, w.spec.template.metadata.labels));
      expect(owners.length, `${at(s)} selects no pods`).toBe(1);
      const ports = new Map<string | number, number>();
      for (const c of containersOf(owners[0]!)) for (const p of c.ports ?? []) {
        ports.set(p.containerPort, p.containerPort);
        if (p.name) ports.set(p.name, p.containerPort);
      }
      for (const p of s.spec.ports) expect(ports.has(p.targetPort ?? p.port), `${at(s)} port ${p.name}`).toBe(true);
    }
    for (const ss of byKind('StatefulSet')) expect(find('Service', ss.spec.serviceName), `${at(ss)} serviceName`).toBeDefined();
  });

  it('the coordinator serves HTTP 8080 and gRPC 50051 with readiness and liveness probes', () => {
    const d = find('Deployment', 'tunehive-coordinator')!;
    const c = containersOf(d)[0]!;
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(c.ports).toEqual(expect.arrayContaining([{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 50051 }]));
    expect(c.args).toEqual(['coordinator', '--redis-url-file', '/etc/tunehive/redis/coordinator-url', '--http-port', '8080', '--grpc-port', '50051', '--host', '0.0.0.0', '--insecure']);
    expect(find('Service', 'tunehive-coordinator')!.spec.ports.map((p: Obj) => p.port)).toEqual([8080, 50051]);
  });

  it('the worker DaemonSet lands on GPU nodes, tolerates their taint, asks for GPUs and knows its node', () => {
    const ds = find('DaemonSet', 'tunehive-worker')!;
    const pod = ds.spec.template.spec;
    const selectsGpu = pod.nodeSelector?.['nvidia.com/gpu.present'] === 'true' || JSON.stringify(pod.affinity ?? {}).includes('nvidia.com/gpu');
    expect(selectsGpu).toBe(true);
    expect(pod.tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu', operator: 'Exists' }));
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    const c = containersOf(ds)[0]!;
    expect(Number.isInteger(c.resources.limits['nvidia.com/gpu']) && c.resources.limits['nvidia.com/gpu'] > 0).toBe(true);
    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(c.args.slice(0, 1)).toEqual(['worker']);
    expect(c.args.join(' ')).toMatch(/--redis-url-file \/etc\/tunehive\/redis\/worker-url --coordinator \S+ --slots \S+ --gpus auto/);
    const work = pod.volumes.find((v: Obj) => c.volumeMounts.some((m: Obj) => m.name === v.name && m.mountPath === '/var/lib/tunehive'));
    expect(work?.emptyDir ?? work?.hostPath).toBeDefined();
  });

  it('no Redis password in argv, env or a ConfigMap: each workload mounts only its own URL from a Secret, Redis loads an ACL file', () => {
    const mountedKeys = (w: Obj) => (w.spec.template.spec.volumes ?? []).filter((v: Obj) => v.secret?.secretName === 'tunehive-redis-credentials').flatMap((v: Obj) => (v.secret.items ?? [{ key: '*' }]).map((i: Obj) => i.key));
    expect(mountedKeys(find('Deployment', 'tunehive-coordinator')!)).toEqual(['coordinator-url']);
    expect(mountedKeys(find('DaemonSet', 'tunehive-worker')!)).toEqual(['worker-url']);
    for (const w of workloads()) {
      for (const c of containersOf(w)) {
        expect((c.env ?? []).map((e: Obj) => e.name), `${at(w)}: REDIS_URL in env`).not.toContain('REDIS_URL');
        expect(JSON.stringify(c.args ?? []), at(w)).not.toMatch(/redis:\/\/|--redis\b(?!-)/);
      }
    }
    for (const cm of byKind('ConfigMap')) expect(JSON.stringify(cm.data), at(cm)).not.toMatch(/redis:\/\//);
    const redisArgs = containersOf(find('StatefulSet', 'tunehive-redis')!)[0]!.args.join(' ');
    expect(redisArgs).toMatch(/--aclfile \/etc\/redis\/acl\/users\.acl/);
    expect(find('Secret', 'tunehive-redis-acl')!.stringData['users.acl']).toMatch(/^user default reset on nopass resetkeys resetchannels -@all \+ping$/m);
  });

  it('a coordinator serving clear text beyond loopback says --insecure, and a NetworkPolicy admits gRPC from worker pods only', () => {
    const c = containersOf(find('Deployment', 'tunehive-coordinator')!)[0]!;
    const hasTls = c.args.includes('--tls-cert') || (c.env ?? []).some((e: Obj) => e.name === 'TUNEHIVE_TLS_CERT');
    if (!hasTls) {
      expect(c.args).toContain('--insecure');
      const np = find('NetworkPolicy', 'tunehive-coordinator')!;
      const coordinatorLabels = find('Deployment', 'tunehive-coordinator')!.spec.template.metadata.labels;
      expect(subset(np.spec.podSelector.matchLabels, coordinatorLabels)).toBe(true);
      expect(np.spec.policyTypes).toEqual(['Ingress']);
      const grpcRules = np.spec.ingress.filter((r: Obj) => r.ports.some((p: Obj) => p.port === 50051 || p.port === 'grpc'));
      expect(grpcRules.length).toBeGreaterThan(0);
      const workerLabels = find('DaemonSet', 'tunehive-worker')!.spec.template.metadata.labels;
      for (const r of grpcRules) for (const from of r.from) expect(subset(from.podSelector?.matchLabels, workerLabels) && !from.namespaceSelector, JSON.stringify(from)).toBe(true);
    }
    const redisNp = find('NetworkPolicy', 'tunehive-redis')!;
    expect(redisNp.spec.ingress[0].from.map((f: Obj) => f.podSelector.matchLabels['app.kubernetes.io/component']).sort()).toEqual(['coordinator', 'worker']);
  });

  it('Redis keeps an append-only file on a persistent volume', () => {
    const ss = find('StatefulSet', 'tunehive-redis')!;
    const args = containersOf(ss)[0]!.args.join(' ');
    expect(args).toMatch(/--appendonly yes/);
    expect(args).toMatch(/--maxmemory-policy noeviction/);
    expect(ss.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBeDefined();
    expect(containersOf(ss)[0]!.volumeMounts).toContainEqual({ name: ss.spec.volumeClaimTemplates[0].metadata.name, mountPath: '/data' });
  });

  it('the kustomization lists exactly the manifest files, and its images are the ones used', () => {
    expect(kustomizations).toHaveLength(1);
    const { file, doc } = kustomizations[0]!;
    const dir = path.dirname(file);
    const listed = (doc.resources as string[]).map((r) => path.join(dir, r));
    for (const f of listed) expect(existsSync(f), rel(f)).toBe(true);
    const manifests = new Set(k8s.map((d) => d.file));
    expect(new Set(listed)).toEqual(manifests);
    expect(doc.namespace).toBe('tunehive');
    const used = new Set(workloads().flatMap((w) => containersOf(w).map((c) => String(c.image).replace(/:[^:/]+$/, ''))));
    for (const img of doc.images ?? []) expect(used.has(img.name), img.name).toBe(true);
  });
});

describe('docker compose files', () => {
  const base = compose.find((d) => d.file.endsWith('docker-compose.yml'))!.doc;
  it('reference existing images or Dockerfiles, declared volumes, and healthy dependencies', () => {
    const services = base.services as Record<string, Obj>;
    expect(Object.keys(services).sort()).toEqual(['coordinator', 'redis', 'worker']);
    for (const [name, s] of Object.entries(services)) {
      expect(s.image ?? s.build, name).toBeDefined();
      if (s.build) expect(existsSync(path.resolve(DEPLOY, s.build.context, s.build.dockerfile)), `${name}: ${s.build.dockerfile}`).toBe(true);
      for (const v of s.volumes ?? []) {
        const src = String(v).split(':')[0]!;
        if (!src.startsWith('.') && !src.startsWith('/')) expect(base.volumes, `${name}: volume ${src}`).toHaveProperty([src]);
      }
      for (const [dep, cond] of Object.entries((s.depends_on ?? {}) as Record<string, Obj>)) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (cond.condition === 'service_healthy') expect(services[dep]!.healthcheck, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    expect(services.redis!.command.join(' ')).toMatch(/--appendonly yes/);
    expect(services.redis!.volumes).toContain('redis-data:/data');
    expect(services.coordinator!.ports.join(' ')).toMatch(/:8080:8080.*:50051:50051/);
    // Redis URLs (with passwords) come from compose secrets as files: never argv or environment.
    expect(services.redis!.command.join(' ')).toMatch(/--aclfile \/run\/secrets\/redis-acl/);
    for (const name of ['coordinator', 'worker']) {
      const s = services[name]!;
      expect(s.environment.REDIS_URL, name).toBeUndefined();
      const file = s.command[s.command.indexOf('--redis-url-file') + 1];
      expect(file, name).toBe(`/run/secrets/${s.secrets[0]}`);
      expect(base.secrets[s.secrets[0]].file, name).toMatch(/^\$\{TUNEHIVE_SECRETS_DIR:-\.\/secrets\}\//);
    }
    expect(services.coordinator!.command).toContain('--insecure');
    expect(services.coordinator!.healthcheck.test.join(' ')).toMatch(/\/healthz/);
    expect(services.worker!.deploy.replicas).toBeGreaterThan(0);
    expect(services.worker!.command.slice(-2)).toEqual(['--gpus', 'auto']);
  });

  it('the GPU override only touches services the base file defines', () => {
    const overrides = compose.filter((d) => !d.file.endsWith('docker-compose.yml') && !d.file.endsWith('docker-compose.load.yml'));
    expect(overrides.length).toBeGreaterThan(0);
    for (const { file, doc } of overrides) for (const name of Object.keys(doc.services)) expect(base.services[name], `${rel(file)}: ${name}`).toBeDefined();
  });
});

describe('the load-test compose file (deploy/docker-compose.load.yml)', () => {
  const found = compose.find((d) => d.file.endsWith('docker-compose.load.yml'));
  const load = found?.doc as Obj;
  const services = (load?.services ?? {}) as Record<string, Obj>;

  it('is a stack of its own: Redis, one coordinator, a worker service to scale', () => {
    expect(found, 'deploy/docker-compose.load.yml').toBeDefined();
    expect(load.name).toBe('tunehive-load');
    expect(Object.keys(services).sort()).toEqual(['coordinator', 'redis', 'worker']);
    for (const [name, s] of Object.entries(services)) {
      expect(s.image ?? s.build, name).toBeDefined();
      if (s.build) expect(existsSync(path.resolve(DEPLOY, s.build.context, s.build.dockerfile)), `${name}: ${s.build.dockerfile}`).toBe(true);
      for (const v of s.volumes ?? []) expect(load.volumes, `${name}: volume ${String(v).split(':')[0]}`).toHaveProperty([String(v).split(':')[0]!]);
      for (const [dep, cond] of Object.entries((s.depends_on ?? {}) as Record<string, Obj>)) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (cond.condition === 'service_healthy') expect(services[dep]!.healthcheck, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    // One coordinator; workers scaled with --scale worker=N (no fixed container name, no host port).
    expect(services.coordinator!.deploy?.replicas ?? 1).toBe(1);
    expect(services.worker!.container_name).toBeUndefined();
    expect(services.worker!.ports).toBeUndefined();
    expect(services.worker!.deploy.replicas).toBeGreaterThan(0);
    expect(services.worker!.command).toEqual(expect.arrayContaining(['--coordinator', 'coordinator:50051', '--gpus', 'none']));
  });

  it('runs Redis with AOF and noeviction, published on loopback only for the harness', () => {
    const cmd = services.redis!.command.join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    expect(services.redis!.volumes).toContain('redis-data:/data');
    expect(services.redis!.ports).toHaveLength(1);
    expect(services.redis!.ports[0]).toMatch(/^127\.0\.0\.1:\$\{TUNEHIVE_LOAD_REDIS_PORT:-\d+\}:6379$/);
    for (const s of Object.values(services)) for (const p of s.ports ?? []) expect(String(p)).toMatch(/^127\.0\.0\.1:/);
  });

  it('takes the Redis password and URL from secret files, never argv or environment', () => {
    expect(services.redis!.command.join(' ')).toMatch(/--aclfile \/run\/secrets\/load-redis-acl/);
    expect(services.redis!.command.join(' ')).not.toMatch(/requirepass|--pass/);
    for (const name of ['coordinator', 'worker']) {
      const s = services[name]!;
      expect(s.environment.REDIS_URL, name).toBeUndefined();
      expect(s.command[s.command.indexOf('--redis-url-file') + 1], name).toBe(`/run/secrets/${s.secrets[0]}`);
    }
    for (const secret of Object.values(load.secrets as Record<string, Obj>)) expect(secret.file).toMatch(/^\$\{TUNEHIVE_SECRETS_DIR:-\.\/secrets\}\//);
  });

  it('selects the worker runtime by environment, simulated unless told otherwise', () => {
    expect(services.worker!.environment.TUNEHIVE_RUNTIME).toBe('${TUNEHIVE_RUNTIME:-simulated}');
    expect(services.worker!.command.join(' ')).not.toMatch(/--runtime/);
  });
});

describe('Dockerfiles', () => {
  for (const name of ['Dockerfile.coordinator', 'Dockerfile.worker']) {
    it(`${name} builds in stages and runs as a non-root user`, () => {
      const text = readFileSync(path.join(DEPLOY, name), 'utf8');
      const stages = text.split(/^FROM /m).slice(1);
      expect(stages.length).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/npm ci/);
      expect(text).toMatch(/npm run build/);
      expect(text).toMatch(/npm ci --omit=dev/);
      const last = stages.at(-1)!;
      expect(last).toMatch(/^USER [1-9]\d*(:\d+)?$/m);
      expect(last).toMatch(/COPY proto/);
      expect(last).toMatch(/COPY --from=build \/src\/dist/);
      expect(last).not.toMatch(/COPY (\.|--from=build \/src\/node_modules)/);
      const entry = /ENTRYPOINT \[(.*)\]/.exec(last)![1]!;
      const script = JSON.parse(`[${entry}]`).find((a: string) => /\.m?js$/.test(a));
      expect(existsSync(path.join(ROOT, script)), `${name}: entry ${script}`).toBe(true);
      if (name.includes('coordinator')) expect(last).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
    });
  }
});

// The external tools, when this machine has them: each case is skipped (and says so) otherwise.
const has = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
};
const composeAvailable = has('docker', ['compose', 'version']);
const kubectlAvailable = has('kubectl', ['version', '--client']);

describe('external validators', () => {
  it.skipIf(!composeAvailable)(`docker compose config -q accepts deploy/docker-compose.yml${composeAvailable ? '' : ' (skipped: this docker client has no compose)'}`, () => {
    // The secrets `tunehive redis-acl` makes, in a folder of the test's own.
    const secrets = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-compose-')), 'secrets');
    expect(spawnSync(process.execPath, [path.join(ROOT, 'bin/tunehive.mjs'), 'redis-acl', '--out-dir', secrets, '--host', 'redis'], { encoding: 'utf8' }).status).toBe(0);
    const r = spawnSync('docker', ['compose', '-f', 'deploy/docker-compose.yml', '-f', 'deploy/docker-compose.gpu.yml', 'config', '-q'], {
      cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, TUNEHIVE_TOKEN: 'test-token', TUNEHIVE_SECRETS_DIR: secrets },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!composeAvailable)(`docker compose config -q accepts deploy/docker-compose.load.yml${composeAvailable ? '' : ' (skipped: this docker client has no compose)'}`, () => {
    const secrets = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-compose-load-')), 'secrets');
    mkdirSync(secrets);
    writeFileSync(path.join(secrets, 'load-users.acl'), 'user default on nopass -@all +ping\n');
    writeFileSync(path.join(secrets, 'load-redis-url'), 'redis://load:x@redis:6379\n');
    const r = spawnSync('docker', ['compose', '-f', 'deploy/docker-compose.load.yml', 'config', '-q'], {
      cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, TUNEHIVE_TOKEN: 'test-token', TUNEHIVE_SECRETS_DIR: secrets },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!kubectlAvailable)(`kubectl kustomize builds deploy/k8s${kubectlAvailable ? '' : ' (skipped: no kubectl here)'}`, () => {
    const r = spawnSync('kubectl', ['kustomize', 'deploy/k8s'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    expect(docs.filter((d) => d.kind !== 'Namespace').every((d) => d.metadata.namespace === 'tunehive')).toBe(true);
    expect(docs.every((d) => d.metadata.labels?.['app.kubernetes.io/part-of'] === 'tunehive')).toBe(true);
  });
});
