import * as assert from 'node:assert/strict';
import { test } from 'node:test';
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
  assert.deepEqual(c.http, { enabled: true, host: '127.0.0.1', port: 3001, publicUrl: null });
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
  assert.deepEqual(c.minio, { endPoint: 'minio.internal', port: 9100, useSSL: true, accessKey: 'ak', secretKey: 'sk', region: 'us-east-1' });
  assert.equal(c.http.port, 8080);
  assert.equal(c.http.host, '0.0.0.0');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.socketPath, '/d/storaged.sock');
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
  [{ STORAGED_SOCKET: `/${'s'.repeat(200)}.sock` }, 'STORAGED_SOCKET', /at most 107/],
  [{ STORAGED_PUBLIC_URL: 'ftp://x' }, 'STORAGED_PUBLIC_URL', /http/],
  [{ STORAGED_GATEWAY: 'maybe' }, 'STORAGED_GATEWAY', /on, off/],
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
