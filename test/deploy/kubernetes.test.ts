// deploy/kubernetes/: no cluster runs here, so every manifest is parsed (with
// `yaml`, the YAML 1.2 parser kubectl's own YAML agrees with on these files)
// and held to what the embedded SQLite catalog needs: one Pod owns the file.
// The readiness probe's command is run for real against a daemon.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { tempDir } from '../support/temp-dir';

const DIR = path.resolve(__dirname, '../../../deploy/kubernetes');

type Obj = Record<string, any>;

function loadAll(): { file: string; doc: Obj }[] {
  const out: { file: string; doc: Obj }[] = [];
  for (const file of fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const parsed of parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8'))) {
      if (!('errors' in parsed)) throw new Error(`${file}: not a document`);
      assert.deepEqual(parsed.errors.map(String), [], `${file} parses`);
      assert.deepEqual(parsed.warnings.map(String), [], `${file} parses without warnings`);
      const doc = parsed.toJS() as Obj | null;
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

const docs = loadAll();
const ofKind = (kind: string) => docs.filter((d) => d.doc.kind === kind);
const byName = (kind: string, name: string) => {
  const found = docs.find((d) => d.doc.kind === kind && d.doc.metadata?.name === name);
  assert.ok(found, `${kind}/${name} exists`);
  return found.doc;
};

/** Kubernetes quantities (128Mi, 1Gi, 500M, 250m) in bytes or cores. */
function quantity(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/.exec(String(q));
  assert.ok(m, `a quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

const podSpec = (workload: Obj): Obj => workload.spec.template.spec;
const allContainers = (workload: Obj): Obj[] => [...(podSpec(workload).initContainers ?? []), ...podSpec(workload).containers];
const runsStoraged = (c: Obj) => /^storaged[:@]/.test(String(c.image));
const storagedContainer = (workload: Obj): Obj => {
  const found = allContainers(workload).filter(runsStoraged);
  assert.equal(found.length, 1, `${workload.metadata.name} has one storaged container`);
  return found[0];
};

/** A container's environment: literal values, ConfigMap keys, and Secret references as `secret:NAME/KEY`. */
function containerEnv(c: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, byName('ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) for (const k of Object.keys(byName('Secret', from.secretRef.name).stringData)) env[k] = `secret:${from.secretRef.name}/${k}`;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      assert.ok(ref.key in byName('Secret', ref.name).stringData, `${c.name}: ${e.name} names a key of Secret/${ref.name}`);
      env[e.name] = `secret:${ref.name}/${ref.key}`;
    } else assert.fail(`${c.name}: ${e.name} has neither a value nor a Secret reference`);
  }
  return env;
}

const workloads = () => docs.filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(d.doc.kind));

test('every manifest parses and names its apiVersion, kind and name', () => {
  assert.ok(docs.length >= 6, `found ${docs.length} documents`);
  for (const { file, doc } of docs) {
    assert.equal(typeof doc.apiVersion, 'string', file);
    assert.equal(typeof doc.kind, 'string', file);
    assert.match(String(doc.metadata?.name), /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: a DNS-1123 name`);
  }
});

test('storaged runs only in StatefulSets of exactly one replica, its catalog on a ReadWriteOnce claim', () => {
  const withStoraged = workloads().filter((w) => allContainers(w.doc).some(runsStoraged));
  assert.ok(withStoraged.length >= 2, 'the StatefulSet and the sidecar example');
  for (const { file, doc } of withStoraged) {
    assert.equal(doc.kind, 'StatefulSet', `${file}: never a Deployment (its rolling update runs two Pods on one SQLite file)`);
    assert.equal(doc.spec.replicas, 1, `${file}: exactly one replica`);
    const env = containerEnv(storagedContainer(doc));
    const dataDir = env.STORAGED_DATA_DIR;
    assert.ok(dataDir, `${file}: STORAGED_DATA_DIR is set`);
    const mount = storagedContainer(doc).volumeMounts.find((m: Obj) => m.mountPath === dataDir);
    assert.ok(mount, `${file}: ${dataDir} is mounted`);
    const claim = (doc.spec.volumeClaimTemplates ?? []).find((c: Obj) => c.metadata.name === mount.name);
    assert.ok(claim, `${file}: ${dataDir} is a PersistentVolumeClaim, not an emptyDir`);
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
    const selector = doc.spec.selector.matchLabels;
    for (const [k, v] of Object.entries(selector)) assert.equal(doc.spec.template.metadata.labels[k], v, `${file}: the selector matches the Pod`);
  }
  assert.equal(ofKind('Deployment').length, 0);
});

test('a Service reaches the gateway of the storaged StatefulSet', () => {
  const sts = byName('StatefulSet', 'storaged');
  const container = storagedContainer(sts);
  const port = container.ports.find((p: Obj) => p.name === 'gateway');
  assert.equal(String(port.containerPort), containerEnv(container).PORT, 'the container port is the daemon PORT');
  const svc = byName('Service', 'storaged');
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(sts.spec.template.metadata.labels[k], v);
  assert.ok(svc.spec.ports.some((p: Obj) => p.targetPort === 'gateway' || p.targetPort === port.containerPort));
  assert.equal(byName('Service', sts.spec.serviceName).spec.clusterIP, 'None', 'the governing Service is headless');
  const env = containerEnv(container);
  assert.equal(env.HOST, '0.0.0.0');
  assert.match(env.STORAGED_PUBLIC_URL, /^http:\/\/storaged:3001$/, 'a wildcard HOST needs the URL clients use');
});

test('MinIO credentials and tokens come from a Secret, never from a literal', () => {
  const secret = byName('Secret', 'storaged-secrets');
  for (const key of ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'STORAGED_TOKENS', 'STORAGED_PROBE_TOKEN', 'STORAGED_TOKEN']) assert.ok(key in secret.stringData, key);
  for (const { doc } of workloads()) {
    for (const c of allContainers(doc)) {
      const env = containerEnv(c);
      for (const key of ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'STORAGED_TOKENS', 'STORAGED_TOKEN']) {
        if (key in env) assert.match(env[key], /^secret:/, `${c.name}: ${key}`);
      }
    }
  }
  for (const cm of ofKind('ConfigMap')) for (const key of Object.keys(cm.doc.data)) assert.doesNotMatch(key, /SECRET|TOKEN|ACCESS_KEY/, `ConfigMap holds no ${key}`);
});

test('the ConfigMap offers STORAGED_TRUSTED_PROXIES for an Ingress, commented out, with a value the daemon accepts once uncommented', () => {
  const file = path.join(DIR, 'configmap.yaml');
  const text = fs.readFileSync(file, 'utf8');
  const line = /^(\s*)# (STORAGED_TRUSTED_PROXIES: .*)$/m.exec(text);
  assert.ok(line, 'configmap.yaml names STORAGED_TRUSTED_PROXIES in a commented line');
  assert.equal(byName('ConfigMap', 'storaged-config').data.STORAGED_TRUSTED_PROXIES, undefined, 'not set by default: without an Ingress nobody forwards');
  // What an operator gets by deleting the '# ': still one ConfigMap that parses, now with the setting.
  const [uncommented] = parseAllDocuments(text.replace(line[0], `${line[1]}${line[2]}`));
  assert.deepEqual(uncommented!.errors.map(String), []);
  const value = (uncommented!.toJS() as Obj).data.STORAGED_TRUSTED_PROXIES;
  assert.equal(typeof value, 'string', 'a string, as ConfigMap data must be');
  const proxies = loadConfig({ STORAGED_TRUSTED_PROXIES: value }, '/').http.trustedProxies;
  assert.ok(proxies !== null);
  assert.equal(proxies.trusts('10.244.3.17', 0), true, 'an ingress controller Pod of the example range');
  assert.equal(proxies.trusts('203.0.113.7', 0), false, 'a caller outside the cluster');
  const before = text.slice(0, line.index);
  assert.match(before.slice(before.lastIndexOf('\n  STORAGED_PUBLIC_URL')), /Ingress[\s\S]*Pod network range/, 'the comment above it says why');
});

test('liveness on /health, readiness on /ready, resources from the measured memory, non-root', () => {
  for (const { file, doc } of workloads().filter((w) => allContainers(w.doc).some(runsStoraged))) {
    const c = storagedContainer(doc);
    assert.equal(c.livenessProbe.httpGet.path, '/health', file);
    assert.match(c.readinessProbe.exec.command.join(' '), /\/ready'/, file);
    assert.ok(c.startupProbe, `${file}: a startup probe covers start-up recovery`);
    const requests = c.resources.requests;
    // Measured (statefulset.yaml's head): idle 98 MiB, a 300 MB round trip 154 MiB, 8 small stores at once 168 MiB.
    assert.ok(quantity(requests.memory) >= 168 * 2 ** 20, `${file}: the memory request covers the measured peak`);
    assert.ok(quantity(requests.memory) <= 256 * 2 ** 20, `${file}: and is not padded far past it`);
    assert.ok(quantity(c.resources.limits.memory) >= 2 * quantity(requests.memory), `${file}: the limit leaves room for large bodies in flight`);
    assert.ok(quantity(requests.cpu) > 0);
    const pod = podSpec(doc).securityContext;
    assert.equal(pod.runAsNonRoot, true, file);
    assert.notEqual(c.securityContext.runAsUser ?? pod.runAsUser, 0, file);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false, file);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true, file);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], file);
    assert.equal(containerEnv(c).STORAGED_WORKER_THREADS, '2', `${file}: the pool sized to the Pod, not the node`);
  }
});

test('the sidecar example shares the socket with the application through an emptyDir', () => {
  const sts = byName('StatefulSet', 'photos-api');
  const storaged = storagedContainer(sts);
  assert.equal(storaged.restartPolicy, 'Always', 'a native sidecar: started before the application, stopped after it');
  const app = podSpec(sts).containers.find((c: Obj) => !runsStoraged(c));
  assert.ok(app, 'an application container beside storaged');
  const socketPath = containerEnv(storaged).STORAGED_SOCKET;
  assert.equal(containerEnv(app).STORAGED_SOCKET, socketPath, 'both sides name the same socket');
  const socketDir = path.posix.dirname(socketPath);
  const volumeAt = (c: Obj) => c.volumeMounts.find((m: Obj) => m.mountPath === socketDir)?.name;
  assert.ok(volumeAt(storaged));
  assert.equal(volumeAt(app), volumeAt(storaged), 'one volume at the socket directory in both containers');
  const volume = podSpec(sts).volumes.find((v: Obj) => v.name === volumeAt(app));
  assert.deepEqual(volume.emptyDir, {});
  assert.equal(podSpec(sts).securityContext.runAsGroup, 1000, 'both containers in the group the 0660 socket belongs to');
  assert.match(containerEnv(app).STORAGED_TOKEN, /^secret:/);
});

test('the readiness probe command passes against a ready daemon and fails without the token', { timeout: 60_000 }, async (t) => {
  const token = 'probe-token-0123456789abcdef';
  const daemon = await spawnDaemon(t, daemonEnv(tempDir(t), null, { STORAGED_TOKENS: `${token} probe` }));
  const command: string[] = storagedContainer(byName('StatefulSet', 'storaged')).readinessProbe.exec.command;
  assert.equal(command[0], 'node');
  const script = command[2].replace('http://127.0.0.1:3001', daemon.httpUrl!.replace(/\/$/, ''));
  const probe = (env: Record<string, string>) => spawnSync(process.execPath, [command[1], script], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 });
  assert.equal(probe({ STORAGED_PROBE_TOKEN: token }).status, 0);
  assert.equal(probe({ STORAGED_PROBE_TOKEN: 'wrong-token-0123456789abcdef' }).status, 1);
});
