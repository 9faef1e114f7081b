// systemd/storaged.service as an operator meets it: systemd accepts the unit,
// install.sh builds a fresh checkout and installs it on a host that has only
// what it installs, and the daemon started from that install exactly as
// ExecStart= says, as user storaged, serves an application user of the
// storaged group over its socket.

import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { readUnit, single, unitEnvironment, parseEnvFile } from '../support/systemd-unit';
import { tempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '../../..');
const UNIT = path.join(ROOT, 'systemd', 'storaged.service');
const INSTALL = path.join(ROOT, 'systemd', 'install.sh');
/** What a fresh clone of the repository does not have (.gitignore, and git's own directory). */
const NOT_IN_A_CLONE = new Set(['.git', 'node_modules', 'dist', 'data', '.env', 'packages/peer-credentials/build']);
const isRoot = process.getuid?.() === 0;

function systemdAnalyze(file: string) {
  return spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
}

test('systemd-analyze verify accepts the unit without a warning', () => {
  const r = systemdAnalyze(UNIT);
  assert.equal(r.error, undefined, 'systemd-analyze must be installed (.ci/run installs Debian\'s systemd)');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'verify prints a warning for an unknown key or a bad value without failing: any output is a finding');
});

test('the verify check has teeth: a misspelt key is reported', (t) => {
  const dir = tempDir(t);
  const broken = path.join(dir, 'storaged.service');
  fs.writeFileSync(broken, fs.readFileSync(UNIT, 'utf8').replace('ProtectSystem=', 'ProtectSystm='));
  assert.match(systemdAnalyze(broken).stderr, /Unknown key 'ProtectSystm'/);
});

test('the unit runs the daemon as storaged, drains on SIGTERM, and does not restart on a config error', () => {
  const unit = readUnit(UNIT);
  assert.equal(single(unit, 'Service', 'User'), 'storaged');
  assert.equal(single(unit, 'Service', 'Group'), 'storaged');
  assert.equal(single(unit, 'Service', 'KillSignal'), 'SIGTERM');
  assert.equal(single(unit, 'Service', 'StateDirectory'), 'storaged');
  assert.equal(single(unit, 'Service', 'RuntimeDirectory'), 'storaged');
  assert.match(single(unit, 'Service', 'RestartPreventExitStatus'), /\b78\b/);
  const env = unitEnvironment(unit);
  assert.equal(env.STORAGED_SOCKET, '/run/storaged/storaged.sock');
  assert.equal(env.STORAGED_DATA_DIR, '/var/lib/storaged');
  assert.equal(single(unit, 'Install', 'WantedBy'), 'multi-user.target');
});

test('install.sh refuses bad arguments, and --no-build on a checkout with nothing built, before it installs anything', (t) => {
  const checkout = tempDir(t);
  fs.mkdirSync(path.join(checkout, 'systemd'));
  fs.copyFileSync(INSTALL, path.join(checkout, 'systemd', 'install.sh'));
  const prefix = path.join(checkout, 'prefix');
  const run = (...args: string[]) => spawnSync('bash', [path.join(checkout, 'systemd', 'install.sh'), ...args], { encoding: 'utf8', timeout: 30_000 });

  const unknown = run('--prefix', prefix, '--no-biuld');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown argument '--no-biuld'\nusage: systemd\/install\.sh \[--prefix DIR\] \[--no-build\] \[--no-system\]/);
  const relative = run('--prefix', 'opt/storaged');
  assert.equal(relative.status, 2);
  assert.match(relative.stderr, /--prefix must be an absolute path/);
  // Each would reach the unit through sed or split ExecStart=: a space, sed's delimiter, its whole-match and its escape.
  for (const bad of ['/opt/stor aged', '/opt/a#b', '/opt/a&b', '/opt/a\\b', "/opt/a'b"]) {
    const refused = run('--prefix', bad, '--no-build', '--no-system');
    assert.equal(refused.status, 2, bad);
    assert.match(refused.stderr, /--prefix may hold only letters, digits and/, bad);
    assert.ok(!fs.existsSync(bad), `${bad}: nothing installed`);
  }
  const unbuilt = run('--prefix', prefix, '--no-build', '--no-system');
  assert.equal(unbuilt.status, 1);
  assert.match(unbuilt.stderr, /dist\/ is not built \(run without --no-build\)/);
  assert.ok(!fs.existsSync(prefix), 'nothing installed');
});

function idOf(kind: 'passwd' | 'group', name: string): number | null {
  const r = spawnSync('getent', [kind, name], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split(':')[2]) : null;
}

/** The `storaged` user and group, created for the test when the host has none (and removed after). */
function storagedAccount(t: TestContext): { uid: number; gid: number } {
  if (idOf('group', 'storaged') === null) {
    execFileSync('groupadd', ['--system', 'storaged']);
    t.after(() => spawnSync('groupdel', ['storaged']));
  }
  if (idOf('passwd', 'storaged') === null) {
    execFileSync('useradd', ['--system', '--gid', 'storaged', '--home-dir', '/var/lib/storaged', '--no-create-home', '--shell', '/usr/sbin/nologin', 'storaged']);
    // Registered after the group's cleanup, so it runs first: the group cannot go while it is a user's primary group.
    t.after(() => spawnSync('userdel', ['storaged']));
  }
  return { uid: idOf('passwd', 'storaged')!, gid: idOf('group', 'storaged')! };
}

// What an application does on the host: store a photo over the socket and read it back, as the user it runs as.
const CLIENT_SCRIPT = `
const { StorageClient } = require(process.argv[1]);
const crypto = require('node:crypto');
(async () => {
  const client = new StorageClient({ socketPath: process.env.SOCK, clientId: 'ops', cacheConfig: { enabled: false } });
  const body = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crypto.randomBytes(20000)]);
  const stored = await client.storePhoto(body, { originalName: 'unit.png', clientId: 'ops', userId: 'u1' });
  const photo = await client.getPhoto(stored.id);
  const download = await client.readPhoto(stored.id);
  const chunks = [];
  for await (const c of download.body) chunks.push(c);
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  process.stdout.write(JSON.stringify({ id: stored.id, same: Buffer.concat(chunks).equals(body), checksum: photo.checksum === sha }));
  await client.close();
})().catch((err) => { process.stderr.write(String(err.code) + ': ' + err.message + '\\n'); process.exit(1); });
`;

test(
  'install.sh on a bare prefix, then the daemon exactly as ExecStart= says, as user storaged, reached through the socket',
  { skip: isRoot ? false : 'needs root (a system user, setpriv)', timeout: 600_000 },
  async (t) => {
    const base = tempDir(t, 'storaged-unit-');
    fs.chmodSync(base, 0o755); // /opt and /var are traversable by everyone; mkdtemp's 0700 is not
    const prefix = path.join(base, 'opt-storaged');

    // install.sh as the operator runs it, build included (npm ci && npm run build in the checkout), on a
    // checkout as a clone gives it: nothing built, no node_modules. A copy, because the build's npm ci
    // replaces the checkout's node_modules, which the tests running beside this one are using.
    // --no-system leaves out what would change this host (the user, /etc, the unit, /usr/local/bin);
    // those are made below as systemd would make them.
    const checkout = path.join(base, 'checkout');
    fs.cpSync(ROOT, checkout, { recursive: true, filter: (src) => !NOT_IN_A_CLONE.has(path.relative(ROOT, src)) });
    assert.ok(!fs.existsSync(path.join(checkout, 'dist')) && !fs.existsSync(path.join(checkout, 'node_modules')));
    const install = spawnSync('bash', [path.join(checkout, 'systemd', 'install.sh'), '--prefix', prefix, '--no-system'], { encoding: 'utf8', timeout: 480_000 });
    assert.equal(install.status, 0, `${install.stdout}\n${install.stderr}`);
    assert.match(install.stdout, /> tsc -p tsconfig\.json/, 'the script built the checkout');
    for (const file of ['dist/src/daemon/bin.js', 'dist/src/storagectl/bin.js', 'dist/src/index.js']) {
      assert.deepEqual(fs.readFileSync(path.join(prefix, file)), fs.readFileSync(path.join(checkout, file)), `${file}: installed as that build made it`);
    }
    assert.ok(fs.existsSync(path.join(prefix, 'node_modules/better-sqlite3')));
    // The SO_PEERCRED addon the build compiled is installed with it (STORAGED_SOCKET_AUTH=peercred).
    const peercred = spawnSync(process.execPath, ['-e', "process.exit(typeof require('storaged-peer-credentials').peerCredentials === 'function' ? 0 : 1)"], {
      cwd: prefix,
      encoding: 'utf8',
    });
    assert.equal(peercred.status, 0, peercred.stderr);
    assert.ok(!fs.existsSync(path.join(prefix, 'node_modules/typescript')), 'runtime dependencies only');
    assert.ok(!fs.existsSync(path.join(prefix, 'dist/test')), 'the package holds dist/src only');

    const { uid, gid } = storagedAccount(t);
    // What systemd makes of StateDirectory= (0700) and RuntimeDirectory= (0750), owned by User=/Group=.
    const stateDir = path.join(base, 'var-lib-storaged');
    const runtimeDir = path.join(base, 'run-storaged');
    const etcDir = path.join(base, 'etc-storaged');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    fs.mkdirSync(runtimeDir, { mode: 0o750 });
    fs.mkdirSync(etcDir, { mode: 0o750 });
    fs.chownSync(stateDir, uid, gid);
    fs.chownSync(runtimeDir, uid, gid);
    fs.chownSync(etcDir, 0, gid); // as install.sh makes /etc/storaged: root:storaged 0750
    const token = 'ops-token-0123456789abcdef';
    const tokensFile = path.join(etcDir, 'tokens');
    fs.writeFileSync(tokensFile, `${token} ops admin\n`, { mode: 0o600 });
    fs.chownSync(tokensFile, uid, gid);
    const envFile = path.join(etcDir, 'storaged.env');
    fs.writeFileSync(envFile, `# as an operator writes it\nPORT=0\nLOG_LEVEL=info\nSTORAGED_TOKENS_FILE=${tokensFile}\nSTORAGED_WORKER_THREADS=1\n`, { mode: 0o600 });

    const unit = readUnit(UNIT);
    const paths = (s: string) => s.replaceAll('/opt/storaged', prefix).replaceAll('/var/lib/storaged', stateDir).replaceAll('/run/storaged', runtimeDir);
    const env: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
    for (const [k, v] of Object.entries(unitEnvironment(unit))) env[k] = paths(v);
    const envFiles = unit.get('Service')?.get('EnvironmentFile') ?? [];
    assert.deepEqual(envFiles, ['-/etc/storaged/storaged.env']);
    Object.assign(env, parseEnvFile(fs.readFileSync(envFile, 'utf8')));

    const execStart = single(unit, 'Service', 'ExecStart');
    assert.match(execStart, /^\//, 'ExecStart= runs an absolute path, with no prefix characters');
    const argv = paths(execStart).split(/\s+/);
    assert.ok(fs.existsSync(argv[0]), `${argv[0]} (ExecStart='s program) must exist on this host`);
    const user = single(unit, 'Service', 'User');
    const group = single(unit, 'Service', 'Group');
    const umask = Number.parseInt(single(unit, 'Service', 'UMask'), 8);

    const previousUmask = process.umask(umask);
    let daemon;
    try {
      // setpriv sets the user, group and supplementary groups as systemd does (initgroups), then execs ExecStart.
      daemon = spawn('setpriv', [`--reuid=${user}`, `--regid=${group}`, '--init-groups', '--', ...argv], { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    } finally {
      process.umask(previousUmask);
    }
    let out = '';
    let err = '';
    daemon.stdout.on('data', (d) => (out += d));
    daemon.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | string>((resolve) => daemon.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
    t.after(() => {
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
      return exited;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 60 s\n${out}\n${err}`)), 60_000);
      daemon.stdout.on('data', () => {
        if (out.includes('"storaged ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before it was ready\n${out}\n${err}`));
      });
    });

    const status = fs.readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'), 'the daemon runs as user storaged');
    assert.match(status, new RegExp(`^Gid:\\s+${gid}\\s+${gid}\\s+${gid}\\s+${gid}$`, 'm'));
    const socketPath = env.STORAGED_SOCKET;
    const sock = fs.statSync(socketPath);
    assert.ok(sock.isSocket());
    assert.equal(sock.mode & 0o777, 0o660);
    assert.equal(sock.gid, gid);
    assert.ok(fs.existsSync(path.join(stateDir, 'storage.db')), 'the catalog lives in StateDirectory');

    // An application user: nobody, with the storaged group added, as `usermod -aG storaged app` would.
    const client = (groups: string[]) =>
      spawnSync('setpriv', ['--reuid=65534', '--regid=65534', ...groups, '--', process.execPath, '-e', CLIENT_SCRIPT, path.join(prefix, 'dist/src/index.js')], {
        env: { PATH: env.PATH, SOCK: socketPath, STORAGED_TOKEN: token },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const member = client([`--groups=${gid}`]);
    assert.equal(member.status, 0, member.stderr);
    const answer = JSON.parse(member.stdout);
    assert.equal(answer.same, true, 'the bytes read back are the bytes stored');
    assert.equal(answer.checksum, true);

    // The operator's tool from the same prefix (runtime dependencies only: cli-progress is one), as that application user.
    const storagectl = (...args: string[]) =>
      spawnSync('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, '--', process.execPath, path.join(prefix, 'dist/src/storagectl/bin.js'), ...args], {
        env: { PATH: env.PATH, STORAGED_SOCKET: socketPath, STORAGED_CLIENT_ID: 'ops', STORAGED_TOKEN: token },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const stats = storagectl('stats', '--json');
    assert.equal(stats.status, 0, stats.stderr);
    assert.deepEqual(JSON.parse(stats.stdout).buckets.map((b: { bucket: string; photos: number }) => [b.bucket, b.photos]), [['images', 1]]);
    const listed = storagectl('ls', '--user', 'u1', '--json');
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).photos.map((p: { id: string }) => p.id), [answer.id]);

    const outsider = client(['--clear-groups']);
    assert.notEqual(outsider.status, 0, 'a user outside the storaged group cannot reach the socket');
    assert.match(outsider.stderr, /^UNAVAILABLE: /);

    daemon.kill(single(unit, 'Service', 'KillSignal') as NodeJS.Signals);
    assert.equal(await exited, 0, err);
  },
);
