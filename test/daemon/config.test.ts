import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import * as os from 'node:os';
import { ConfigError } from '../../src/daemon/config/config-error';
import { loadConfig } from '../../src/daemon/config/daemon-config';

test('defaults put everything under the data directory and use the local blob store', () => {
  const c = loadConfig({}, '/srv/app');
  assert.equal(c.dataDir, '/srv/app/data');
  assert.equal(c.sqlitePath, '/srv/app/data/storage.db');
  assert.equal(c.socketPath, '/srv/app/data/storaged.sock');
  assert.equal(c.blobDir, '/srv/app/data/blobs');
  assert.equal(c.minio, null);
  assert.equal(c.maxBodyBytes, 50 * 1024 * 1024);
  assert.deepEqual(c.bodyLimits, { image: 50 * 1024 * 1024, video: 50 * 1024 * 1024, file: 50 * 1024 * 1024 });
  assert.deepEqual(c.http, { enabled: true, host: '127.0.0.1', port: 3001, publicUrl: null, bodyIdleTimeoutMs: 60_000, trustedProxies: null });
  assert.equal(c.memoryBudgetBytes, 256 * 1024 * 1024);
});

test('the seed names configure SQLite, MinIO and the listener', () => {
  const c = loadConfig(
    {
      SQLITE_PATH: '/var/lib/x.db',
      MINIO_ENDPOINT: 'minio.internal',
      MINIO_PORT: '9100',
      MINIO_USE_SSL: 'true',
      MINIO_ACCESS_KEY: 'ak',
      MINIO_SECRET_KEY: 'sk',
      PORT: '8080',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      STORAGED_DATA_DIR: '/d',
    },
    '/',
  );
  assert.equal(c.sqlitePath, '/var/lib/x.db');
  assert.deepEqual(c.minio, { endPoint: 'minio.internal', pathStyle: true, port: 9100, useSSL: true, accessKey: 'ak', secretKey: 'sk', region: 'us-east-1' });
  assert.equal(c.http.port, 8080);
  assert.equal(c.http.host, '0.0.0.0');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.socketPath, '/d/storaged.sock');
});

test('body limits per kind default to STORAGED_MAX_BODY_BYTES and go up to 5 GiB', () => {
  assert.deepEqual(loadConfig({ STORAGED_MAX_BODY_BYTES: '1000' }, '/').bodyLimits, { image: 1000, video: 1000, file: 1000 });
  const c = loadConfig(
    {
      STORAGED_MAX_BODY_BYTES: '1000',
      STORAGED_ALLOWED_TYPES: 'image/jpeg,video/mp4,application/pdf',
      STORAGED_MAX_IMAGE_BYTES: '2000',
      STORAGED_MAX_VIDEO_BYTES: String(5 * 1024 ** 3),
      STORAGED_MAX_FILE_BYTES: '3000',
    },
    '/',
  );
  assert.equal(c.maxBodyBytes, 1000);
  assert.deepEqual(c.bodyLimits, { image: 2000, video: 5 * 1024 ** 3, file: 3000 });
});

test('worker threads run at nice 10 unless STORAGED_WORKER_NICE says otherwise (0-19)', () => {
  assert.equal(loadConfig({}, '/').workerNice, 10);
  assert.equal(loadConfig({ STORAGED_WORKER_NICE: '0' }, '/').workerNice, 0);
  assert.equal(loadConfig({ STORAGED_WORKER_NICE: '19' }, '/').workerNice, 19);
});

const bad: Array<[Record<string, string>, string, RegExp]> = [
  [{ MINIO_PORT: '9000' }, 'MINIO_ENDPOINT', /MINIO_PORT is set but MINIO_ENDPOINT is not/],
  [{ MINIO_ENDPOINT: 'minio', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b', MINIO_PORT: 'ninety' }, 'MINIO_PORT', /integer/],
  [{ MINIO_ENDPOINT: 'http://minio:9000', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b' }, 'MINIO_ENDPOINT', /without scheme/],
  [{ MINIO_ENDPOINT: 'minio' }, 'MINIO_ACCESS_KEY', /required/],
  [{ MINIO_ENDPOINT: 'minio', MINIO_ACCESS_KEY: 'a' }, 'MINIO_SECRET_KEY', /required/],
  [{ MINIO_ENDPOINT: 'minio', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b', MINIO_PORT: '70000' }, 'MINIO_PORT', /between 1 and 65535/],
  [{ MINIO_ENDPOINT: 'minio', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b', MINIO_USE_SSL: 'maybe' }, 'MINIO_USE_SSL', /true or false/],
  [{ PORT: '-1' }, 'PORT', /between 0 and 65535/],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of fatal, error/],
  [{ STORAGED_MAX_BODY_BYTES: '10GB' }, 'STORAGED_MAX_BODY_BYTES', /integer/],
  [{ STORAGED_ALLOWED_TYPES: 'jpeg' }, 'STORAGED_ALLOWED_TYPES', /MIME type/],
  [{ STORAGED_MAX_IMAGE_BYTES: '2GB' }, 'STORAGED_MAX_IMAGE_BYTES', /an integer between 1 and 5368709120, got '2GB'/],
  [{ STORAGED_MAX_IMAGE_BYTES: '0' }, 'STORAGED_MAX_IMAGE_BYTES', /between 1 and 5368709120, got 0/],
  [{ STORAGED_ALLOWED_TYPES: 'video/mp4', STORAGED_MAX_VIDEO_BYTES: '5368709121' }, 'STORAGED_MAX_VIDEO_BYTES', /between 1 and 5368709120/],
  [{ STORAGED_MAX_VIDEO_BYTES: '1000000000' }, 'STORAGED_MAX_VIDEO_BYTES', /STORAGED_ALLOWED_TYPES allows no video\/\* type; add one there or unset/],
  [{ STORAGED_MAX_FILE_BYTES: '1000' }, 'STORAGED_MAX_FILE_BYTES', /allows no type other than image\/\* and video\/\*/],
  [{ STORAGED_SOCKET: `/${'s'.repeat(200)}.sock` }, 'STORAGED_SOCKET', /at most 107/],
  [{ STORAGED_PUBLIC_URL: 'ftp://x' }, 'STORAGED_PUBLIC_URL', /http/],
  [{ STORAGED_PUBLIC_URL: 'http://x/?a=1' }, 'STORAGED_PUBLIC_URL', /without query, fragment or credentials/],
  [{ STORAGED_PUBLIC_URL: 'http://user:pw@x' }, 'STORAGED_PUBLIC_URL', /without query, fragment or credentials/],
  [{ STORAGED_PUBLIC_URL: 'http://0.0.0.0:3001' }, 'STORAGED_PUBLIC_URL', /no address a client can reach/],
  [{ HOST: '0.0.0.0' }, 'STORAGED_PUBLIC_URL', /HOST is '0.0.0.0' \(every interface\).*set STORAGED_PUBLIC_URL/],
  [{ HOST: '::' }, 'STORAGED_PUBLIC_URL', /HOST is '::'/],
  [{ STORAGED_GATEWAY: 'maybe' }, 'STORAGED_GATEWAY', /on, off/],
  [{ STORAGED_WORKER_NICE: '-5' }, 'STORAGED_WORKER_NICE', /between 0 and 19, got -5/],
  [{ STORAGED_WORKER_NICE: '20' }, 'STORAGED_WORKER_NICE', /between 0 and 19/],
  [{ STORAGED_WORKER_NICE: 'low' }, 'STORAGED_WORKER_NICE', /integer/],
];
for (const [env, variable, message] of bad) {
  test(`refuses ${variable}=${Object.values(env).at(-1)}`, () => {
    assert.throws(
      () => loadConfig(env, '/'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.variable, variable);
        assert.match(err.message, message);
        assert.ok(err.message.startsWith(`${err.variable}: `));
        return true;
      },
    );
  });
}

test('a wildcard HOST is fine once STORAGED_PUBLIC_URL says where clients reach the daemon, or with MinIO (no local URLs)', () => {
  const announced = loadConfig({ HOST: '0.0.0.0', STORAGED_PUBLIC_URL: 'https://photos.example.com/' }, '/');
  assert.equal(announced.http.publicUrl, 'https://photos.example.com');
  const minio = { MINIO_ENDPOINT: 'minio', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b' };
  assert.equal(loadConfig({ HOST: '0.0.0.0', ...minio }, '/').http.host, '0.0.0.0');
});

const MINIO_ENV = { MINIO_ENDPOINT: 'minio.internal', MINIO_ACCESS_KEY: 'ak', MINIO_SECRET_KEY: 'sk' };

test('without STORAGED_CATALOG_URL the catalog is the SQLite file; the node id defaults to the host name', () => {
  const c = loadConfig({}, '/srv/app');
  assert.equal(c.postgres, null);
  assert.equal(c.nodeId, os.hostname());
  assert.equal(loadConfig({ STORAGED_NODE_ID: 'host-a.rack1' }, '/').nodeId, 'host-a.rack1');
});

test('STORAGED_CATALOG_URL selects PostgreSQL with a pool of 10 and keeps sslmode in the URL', () => {
  const url = 'postgres://storaged:s3cret@db.internal:5432/catalog?sslmode=verify-full';
  const c = loadConfig({ ...MINIO_ENV, STORAGED_CATALOG_URL: url }, '/');
  assert.deepEqual(c.postgres, { url, poolSize: 10, timeoutMs: 5000 });
  const sized = loadConfig({ ...MINIO_ENV, STORAGED_CATALOG_URL: url, STORAGED_CATALOG_POOL: '25', STORAGED_CATALOG_TIMEOUT_MS: '2000' }, '/');
  assert.equal(sized.postgres?.poolSize, 25);
  assert.equal(sized.postgres?.timeoutMs, 2000);
});

test('a PostgreSQL catalog with the local-directory blob store is refused in one line naming the fix', () => {
  assert.throws(() => loadConfig({ STORAGED_CATALOG_URL: 'postgres://u:p@db/catalog' }, '/'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.variable, 'STORAGED_CATALOG_URL');
    assert.match(err.message, /local directory .* set MINIO_ENDPOINT/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
});

test('bad catalog settings are refused without echoing the password', () => {
  const refused = (env: Record<string, string>, variable: string, message: RegExp) =>
    assert.throws(() => loadConfig({ ...MINIO_ENV, ...env }, '/'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, variable);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  refused({ STORAGED_CATALOG_URL: 'mysql://u:hunter2@db/catalog' }, 'STORAGED_CATALOG_URL', /expected postgres:\/\//);
  refused({ STORAGED_CATALOG_URL: 'postgres://u:hunter2@db' }, 'STORAGED_CATALOG_URL', /database name/);
  refused({ STORAGED_CATALOG_URL: 'not a url hunter2' }, 'STORAGED_CATALOG_URL', /expected postgres:\/\//);
  refused({ STORAGED_CATALOG_URL: 'postgres://u:hunter2@db/c?sslmode=maybe' }, 'STORAGED_CATALOG_URL', /sslmode=maybe/);
  refused({ STORAGED_CATALOG_URL: 'postgres://u:hunter2@db/c', STORAGED_CATALOG_POOL: '0' }, 'STORAGED_CATALOG_POOL', /between 1 and 1000/);
  refused({ STORAGED_CATALOG_POOL: '5' }, 'STORAGED_CATALOG_POOL', /STORAGED_CATALOG_URL is not/);
  refused({ STORAGED_NODE_ID: 'a b' }, 'STORAGED_NODE_ID', /expected 1 to 128/);
});

test('STORAGED_MEMORY_BUDGET_MB sets the memory budget, and a value it cannot use says what it expected', () => {
  assert.equal(loadConfig({ STORAGED_MEMORY_BUDGET_MB: '512' }, '/').memoryBudgetBytes, 512 * 1024 * 1024);
  assert.equal(loadConfig({ STORAGED_MEMORY_BUDGET_MB: ' 64 ' }, '/').memoryBudgetBytes, 64 * 1024 * 1024);
  const refused: Array<[string, RegExp]> = [
    ['256MB', /^STORAGED_MEMORY_BUDGET_MB: expected a whole number of MiB .*default 256.*got '256MB'$/],
    ['-1', /^STORAGED_MEMORY_BUDGET_MB: expected a whole number of MiB/],
    ['1.5', /^STORAGED_MEMORY_BUDGET_MB: expected a whole number of MiB/],
    ['16', /^STORAGED_MEMORY_BUDGET_MB: 16 MiB is below the 32 MiB .* give at least 32$/],
    ['0', /^STORAGED_MEMORY_BUDGET_MB: expected an integer between 1 and 1048576, got 0$/],
    ['99999999', /^STORAGED_MEMORY_BUDGET_MB: expected an integer between 1 and 1048576/],
  ];
  for (const [value, message] of refused) {
    assert.throws(() => loadConfig({ STORAGED_MEMORY_BUDGET_MB: value }, '/'), (err: unknown) => err instanceof ConfigError && message.test(err.message), value);
  }
});

test('STORAGED_BODY_IDLE_TIMEOUT_S sets how long a gateway body may be silent', () => {
  assert.equal(loadConfig({ STORAGED_BODY_IDLE_TIMEOUT_S: '5' }, '/').http.bodyIdleTimeoutMs, 5000);
  assert.throws(() => loadConfig({ STORAGED_BODY_IDLE_TIMEOUT_S: '0' }, '/'), /STORAGED_BODY_IDLE_TIMEOUT_S: expected an integer between 1 and 3600/);
});

test('STORAGED_TRUSTED_PROXIES takes addresses, CIDR ranges of both families and named sets, compiled once', () => {
  assert.equal(loadConfig({ STORAGED_TRUSTED_PROXIES: ' ' }, '/').http.trustedProxies, null);
  const proxies = loadConfig({ STORAGED_TRUSTED_PROXIES: 'loopback, 10.0.0.0/8,2001:db8::/32 , 192.0.2.1' }, '/').http.trustedProxies;
  assert.ok(proxies !== null);
  assert.deepEqual(proxies.entries, ['loopback', '10.0.0.0/8', '2001:db8::/32', '192.0.2.1']);
  const trusted = ['127.0.0.1', '127.9.9.9', '::1', '10.255.0.1', '::ffff:10.0.0.1', '2001:db8:ffff::1', '192.0.2.1'];
  const untrusted = ['11.0.0.1', '192.0.2.2', '2001:db9::1', '203.0.113.7', 'unknown', ''];
  for (const address of trusted) assert.equal(proxies.trusts(address, 0), true, address);
  for (const address of untrusted) assert.equal(proxies.trusts(address, 0), false, address);
  // The walk is bounded: past MAX_TRUSTED_HOPS no hop is trusted.
  assert.equal(proxies.trusts('127.0.0.1', 15), true);
  assert.equal(proxies.trusts('127.0.0.1', 16), false);
  for (const [name, inside, outside] of [
    ['linklocal', '169.254.1.1', '169.255.0.1'],
    ['uniquelocal', '192.168.1.1', '192.169.0.1'],
  ] as const) {
    const named = loadConfig({ STORAGED_TRUSTED_PROXIES: name }, '/').http.trustedProxies!;
    assert.equal(named.trusts(inside, 0), true, name);
    assert.equal(named.trusts(outside, 0), false, name);
  }
});

test('a STORAGED_TRUSTED_PROXIES entry that is not an address, a range or a named set is refused, naming it', () => {
  const refused: Array<[string, RegExp]> = [
    ['10.0.0.0/33', /'10\.0\.0\.0\/33' has no prefix length between 1 and 32 after the slash/],
    ['2001:db8::/129', /'2001:db8::\/129' has no prefix length between 1 and 128/],
    ['10.0.0.0/255.0.0.0', /'10\.0\.0\.0\/255\.0\.0\.0' has no prefix length between 1 and 32/],
    ['10.0.0.0/', /has no prefix length/],
    ['nonsense', /'nonsense' is not an IP address, a CIDR range \(10\.0\.0\.0\/8, fd00::\/8\) or one of loopback, linklocal, uniquelocal/],
    ['loopback, nonsense', /'nonsense' is not an IP address/],
    ['127.1', /'127\.1' is not an IP address/],
    ['LOOPBACK', /'LOOPBACK' is not an IP address/],
    ['0.0.0.0/0', /'0\.0\.0\.0\/0' trusts every address, so any caller could name its own address/],
    ['::/0', /'::\/0' trusts every address/],
    [',', /expected a comma-separated list/],
  ];
  for (const [value, message] of refused) {
    assert.throws(
      () => loadConfig({ STORAGED_TRUSTED_PROXIES: value }, '/'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, value);
        assert.equal(err.variable, 'STORAGED_TRUSTED_PROXIES');
        assert.ok(err.message.startsWith('STORAGED_TRUSTED_PROXIES: '), err.message);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

/** Each setting alone is refused with a ConfigError that names it and says what was expected. */
function assertRefused(refused: Array<[string, string, RegExp]>): void {
  for (const [name, value, message] of refused) {
    assert.throws(
      () => loadConfig({ [name]: value }, '/'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${name}=${value}`);
        assert.ok(err.message.includes(name), `the message names ${name}: ${err.message}`);
        assert.match(err.message, message);
        return true;
      },
    );
  }
}

test('admission: connections, calls, the gateway rate and the failed-token rates have defaults, and take validated values', () => {
  assert.deepEqual(loadConfig({}, '/').admission, {
    socketConnections: 1024,
    httpConnections: 1024,
    calls: { maxCalls: 1024, maxWaiting: 4096, waitMs: 5000 },
    gatewayRate: null,
    authFailureRate: { perSecond: 10 / 60, burst: 10 },
    socketAuthFailureRate: { perSecond: 1, burst: 60 },
  });
  const c = loadConfig(
    {
      STORAGED_MAX_CONNECTIONS: '200',
      STORAGED_GATEWAY_MAX_CONNECTIONS: '300',
      STORAGED_MAX_CALLS: '64',
      STORAGED_MAX_WAITING_CALLS: '0',
      STORAGED_CALL_WAIT_MS: '250',
      STORAGED_GATEWAY_RATE: '600/min,burst=20',
      STORAGED_AUTH_FAILURE_RATE: '3/h,burst=5',
      STORAGED_SOCKET_AUTH_FAILURE_RATE: 'off',
    },
    '/',
  );
  assert.deepEqual(c.admission, {
    socketConnections: 200,
    httpConnections: 300,
    calls: { maxCalls: 64, maxWaiting: 0, waitMs: 250 },
    gatewayRate: { perSecond: 10, burst: 20 },
    authFailureRate: { perSecond: 3 / 3600, burst: 5 },
    socketAuthFailureRate: null,
  });
  const refused: Array<[string, string, RegExp]> = [
    ['STORAGED_MAX_CONNECTIONS', '0', /between 1 and/],
    ['STORAGED_GATEWAY_MAX_CONNECTIONS', 'many', /between 1 and/],
    ['STORAGED_MAX_CALLS', '0', /between 1 and/],
    ['STORAGED_MAX_WAITING_CALLS', '-1', /between 0 and/],
    ['STORAGED_CALL_WAIT_MS', '600001', /between 0 and 600000/],
    ['STORAGED_GATEWAY_RATE', '100', /expected off or a rate like 50\/s, 600\/min or 50\/s,burst=200, got '100'/],
    ['STORAGED_GATEWAY_RATE', '0/s', /above 0/],
    ['STORAGED_AUTH_FAILURE_RATE', '10', /expected off or a rate like/],
    ['STORAGED_SOCKET_AUTH_FAILURE_RATE', '1/s,burst=0', /burst between 1 and/],
  ];
  assertRefused(refused);
});

test('search threads: 2 threads and a 5 s bound on each SQLite search by default, validated values otherwise', () => {
  assert.deepEqual(loadConfig({}, '/').search, { threads: 2, timeoutMs: 5000 });
  assert.deepEqual(loadConfig({ STORAGED_SEARCH_THREADS: '4', STORAGED_SEARCH_TIMEOUT_MS: '250' }, '/').search, { threads: 4, timeoutMs: 250 });
  const refused: Array<[string, string, RegExp]> = [
    ['STORAGED_SEARCH_THREADS', '0', /between 1 and 64/],
    ['STORAGED_SEARCH_THREADS', 'two', /between 1 and 64/],
    ['STORAGED_SEARCH_TIMEOUT_MS', '9', /between 10 and 600000/],
    ['STORAGED_SEARCH_TIMEOUT_MS', '600001', /between 10 and 600000/],
  ];
  assertRefused(refused);
});

// A refusal goes to stderr and the journal; a password someone put in the URL must not go with it.
test('a STORAGED_PUBLIC_URL refused for its credentials, or unparsable, does not print a password it holds', () => {
  for (const value of ['http://user:s3cret-pw@storaged.internal:3001', 'http://user:s3cret-pw@[storaged', 'ftp://user:s3cret-pw@x']) {
    assert.throws(
      () => loadConfig({ STORAGED_PUBLIC_URL: value }, '/'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.variable, 'STORAGED_PUBLIC_URL');
        assert.doesNotMatch(err.message, /s3cret-pw/, value);
        return true;
      },
    );
  }
});
