// docker-compose.yml: no Docker engine runs here, so the file is parsed (with
// `yaml`) and read for what it promises, and then each service's start
// command, environment and health check are run as real processes: the
// pinned MinIO, storaged as the image's CMD, the example application through
// the socket. Paths and host names of the containers are mapped to
// temporary directories and loopback ports; nothing else is changed.

import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { freePort } from '../support/free-port';
import { findOrBuildMinio, MINIO_MODULE_VERSION } from '../support/minio-binary';
import { parseEnvFile } from '../support/systemd-unit';
import { tempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '../../..');
type Obj = Record<string, any>;

const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose: Obj = parse(composeText, { strict: true, uniqueKeys: true });
const envExample = parseEnvFile(fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8'));
const services: Obj = compose.services;

/** Compose's interpolation: ${VAR}, ${VAR:?message}, ${VAR:-default}, $$. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:\?|:-)([^}]*))?\}/g, (whole, name?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (op === ':-') return arg ?? '';
    throw new Error(`${name} is not set${op === ':?' ? `: ${arg}` : ''}`);
  });
}

function serviceEnv(name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries<string>(services[name].environment ?? {})) env[k] = interpolate(String(v), envExample);
  return env;
}

/** The final stage of a Dockerfile: its ENV, WORKDIR, USER and CMD. */
function finalStage(file: string): { env: Record<string, string>; workdir: string; user: string | null; cmd: string[]; stages: string[] } {
  const lines = fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim());
  const stages = lines.filter((l) => /^FROM /i.test(l));
  const last = lines.length - [...lines].reverse().findIndex((l) => /^FROM /i.test(l));
  const out = { env: {} as Record<string, string>, workdir: '/', user: null as string | null, cmd: [] as string[], stages };
  for (const line of lines.slice(last)) {
    const [, instr, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (instr === 'ENV') for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) out.env[m[1]] = m[2];
    if (instr === 'WORKDIR') out.workdir = rest;
    if (instr === 'USER') out.user = rest;
    if (instr === 'CMD') out.cmd = JSON.parse(rest);
  }
  return out;
}

test('the services, their volumes, health checks and start order', () => {
  assert.deepEqual(Object.keys(services).sort(), ['example-app', 'minio', 'storaged']);
  const declared = Object.keys(compose.volumes ?? {});
  for (const [name, svc] of Object.entries<Obj>(services)) {
    for (const v of svc.volumes ?? []) {
      const source = String(v).split(':')[0];
      if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(declared.includes(source), `${name}: volume ${source} is declared`);
    }
    assert.ok(!(svc.deploy?.replicas > 1) && svc.scale === undefined, `${name} is not scaled`);
  }
  const mounts = (svc: string) => (services[svc].volumes as string[]).map((v) => v.split(':'));
  assert.ok(mounts('minio').some(([s, t]) => s === 'minio-data' && t === '/data'), 'MinIO keeps its data in a volume');
  assert.ok(mounts('storaged').some(([s, t]) => s === 'storaged-data' && t === serviceEnv('storaged').STORAGED_DATA_DIR), 'the catalog and spool in a volume');

  assert.match(services.minio.healthcheck.test.join(' '), /\/minio\/health\/live/);
  assert.match(services.storaged.healthcheck.test.join(' '), /\/ready'/);
  assert.equal(services.storaged.depends_on.minio.condition, 'service_healthy');
  assert.equal(services['example-app'].depends_on.storaged.condition, 'service_healthy');
});

test('storaged offers STORAGED_TRUSTED_PROXIES for the proxy in front, commented out, with a value the daemon accepts once uncommented', () => {
  const line = /^(\s*)# (STORAGED_TRUSTED_PROXIES: .*)$/m.exec(composeText);
  assert.ok(line, 'docker-compose.yml names STORAGED_TRUSTED_PROXIES in a commented line');
  assert.equal(services.storaged.environment.STORAGED_TRUSTED_PROXIES, undefined, 'not set by default: callers reach the port directly');
  // What an operator gets by deleting the '# ': still a file that parses, the setting in storaged's environment.
  const uncommented: Obj = parse(composeText.replace(line[0], `${line[1]}${line[2]}`), { strict: true, uniqueKeys: true });
  const value = uncommented.services.storaged.environment.STORAGED_TRUSTED_PROXIES;
  assert.equal(typeof value, 'string', 'a string, as a Compose environment value should be');
  const proxies = loadConfig({ STORAGED_TRUSTED_PROXIES: value }, '/').http.trustedProxies;
  assert.ok(proxies !== null);
  assert.equal(proxies.trusts('172.18.0.1', 0), true, "a proxy on the host, seen from the default network's gateway");
  assert.equal(proxies.trusts('203.0.113.7', 0), false, 'a caller from elsewhere');
  const before = composeText.slice(0, line.index);
  assert.match(before.slice(before.lastIndexOf('STORAGED_PUBLIC_URL')), /reverse proxy[\s\S]*X-Forwarded-For/, 'the comment above it says why');
});

test('MinIO is built from source at the pinned commit, in a stage of its own', () => {
  assert.equal(services.minio.build.dockerfile, 'deploy/minio.Dockerfile');
  const file = path.join(ROOT, services.minio.build.dockerfile);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, new RegExp(`ARG MINIO_VERSION=${MINIO_MODULE_VERSION}\\n`), 'the same version the tests build (test/support/minio-binary.ts)');
  assert.match(text, /go install .*github\.com\/minio\/minio@\$\{MINIO_VERSION\}/);
  const stage = finalStage(file);
  assert.equal(stage.stages.length, 2, 'a build stage and a small runtime stage');
  assert.match(stage.stages[0], / AS build$/);
  assert.ok(stage.user !== null && stage.user !== 'root', 'MinIO runs as a user of its own');
});

test('the socket is shared with the application through a volume', () => {
  const socket = serviceEnv('storaged').STORAGED_SOCKET;
  assert.equal(serviceEnv('example-app').STORAGED_SOCKET, socket);
  const at = (svc: string) => (services[svc].volumes as string[]).map((v) => v.split(':')).find(([, target]) => target === path.posix.dirname(socket))?.[0];
  assert.equal(at('storaged'), 'storaged-socket');
  assert.equal(at('example-app'), 'storaged-socket');
  assert.equal(services['example-app'].image, services.storaged.image, 'the same image, so the same user owns and opens the 0660 socket');
});

test('secrets come from the env file: no literal, every variable in .env.example, .env ignored by git', () => {
  const referenced = new Set([...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
  for (const name of referenced) assert.ok(name in envExample, `${name} is in .env.example`);
  for (const [svc, keys] of [['minio', ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD']], ['storaged', ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'STORAGED_TOKENS', 'STORAGED_PROBE_TOKEN']], ['example-app', ['STORAGED_TOKEN']]] as const) {
    for (const key of keys) assert.match(String(services[svc].environment[key]), /\$\{[A-Z_]+:\?/, `${svc}: ${key} is interpolated, and required`);
  }
  assert.match(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8'), /^\.env$/m);
  assert.throws(() => interpolate(String(services.storaged.environment.MINIO_SECRET_KEY), {}), /set MINIO_ROOT_PASSWORD in \.env/);
});

interface Proc {
  child: ChildProcess;
  output: () => string;
}

function start(t: TestContext, argv: string[], env: Record<string, string>, cwd: string): Proc {
  const child = spawn(argv[0], argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return { child, output: () => out };
}

/** Runs a health check's CMD until it passes, as Docker does between start_period and retries. */
async function healthy(test: string[], env: Record<string, string>, what: Proc, capMs = 60_000): Promise<void> {
  assert.equal(test[0], 'CMD');
  const argv = test.slice(1).map((a) => (a === 'node' ? process.execPath : a));
  const deadline = Date.now() + capMs;
  for (;;) {
    const r = spawnSync(argv[0], argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 });
    if (r.status === 0) return;
    if (what.child.exitCode !== null || Date.now() > deadline) assert.fail(`health check ${argv.join(' ')} never passed\n${what.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('MinIO, storaged and the example application, started as the file says, work together', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t, 'storaged-compose-');
  const minioPort = await freePort();
  const consolePort = await freePort();
  const gatewayPort = await freePort();

  // minio: the image's binary (the same version), the service's command and environment.
  const minioData = path.join(dir, 'minio-data');
  fs.mkdirSync(minioData);
  const minioArgs = (services.minio.command as string[]).map((a) =>
    a === '/data' ? minioData : a === ':9000' ? `127.0.0.1:${minioPort}` : a === ':9001' ? `127.0.0.1:${consolePort}` : a,
  );
  const minioEnv = serviceEnv('minio');
  const minio = start(t, [await findOrBuildMinio(), ...minioArgs], minioEnv, dir);
  await healthy(services.minio.healthcheck.test.map((a: string) => a.replace('127.0.0.1:9000', `127.0.0.1:${minioPort}`)), {}, minio);

  // storaged: the Dockerfile's ENV and CMD in its WORKDIR (/app is the package root), then the service's environment.
  const image = finalStage(path.join(ROOT, 'Dockerfile'));
  assert.deepEqual(image.cmd, ['node', 'dist/src/daemon/bin.js']);
  const paths = (v: string) => v.replace(/^\/data$/, path.join(dir, 'data')).replace(/^\/run\/storaged\//, `${dir}/run/`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...image.env, ...serviceEnv('storaged') })) env[k] = paths(v);
  assert.equal(env.MINIO_ENDPOINT, 'minio');
  Object.assign(env, { MINIO_ENDPOINT: '127.0.0.1', MINIO_PORT: String(minioPort), PORT: String(gatewayPort), STORAGED_PUBLIC_URL: `http://127.0.0.1:${gatewayPort}` });
  const storaged = start(t, [process.execPath, ...image.cmd.slice(1)], env, ROOT);
  const storagedCheck = services.storaged.healthcheck.test.map((a: string) => a.replace('127.0.0.1:3001', `127.0.0.1:${gatewayPort}`));
  await healthy(storagedCheck, { STORAGED_PROBE_TOKEN: env.STORAGED_PROBE_TOKEN }, storaged);

  // example-app: its command, with its bind-mounted script, its environment, and the socket in the shared volume.
  const app = services['example-app'];
  const binds = new Map((app.volumes as string[]).filter((v) => v.startsWith('./')).map((v) => [v.split(':')[1], path.join(ROOT, v.split(':')[0])]));
  const argv = (app.command as string[]).map((a) => (a === 'node' ? process.execPath : binds.get(a) ?? a));
  const appEnv: Record<string, string> = { ...serviceEnv('example-app'), STORAGED_CLIENT_MODULE: ROOT };
  appEnv.STORAGED_SOCKET = paths(appEnv.STORAGED_SOCKET);
  const run = spawnSync(argv[0], argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...appEnv }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}\n${storaged.output()}`);
  const answer = JSON.parse(run.stdout);
  assert.match(answer.stored, /^[0-9a-f-]{36}$/);
  assert.equal(answer.bucket, 'images');

  // With the wrong token the same application is refused before any call.
  const refused = spawnSync(argv[0], argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...appEnv, STORAGED_TOKEN: 'not-the-token-0123456789' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^example-app: UNAUTHORIZED: /);

  storaged.child.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => storaged.child.once('exit', resolve)), 0);
});
