// StorageClient picks its transport from the options alone.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';

test('StorageClient needs exactly one of socketPath and url', () => {
  const message = /either \{ socketPath, clientId \} .* or \{ url, token \}/;
  assert.throws(() => new StorageClient({} as never), { name: 'TypeError', message });
  assert.throws(
    () => new StorageClient({ socketPath: '/tmp/x.sock', clientId: 'a', url: 'http://127.0.0.1:1', token: 't'.repeat(20) } as never),
    { name: 'TypeError', message },
  );
  assert.throws(() => new StorageClient(null as never), { name: 'TypeError' });
});

test('each transport still checks its own options', () => {
  assert.throws(() => new StorageClient({ socketPath: '/tmp/x.sock', clientId: '' }), { name: 'TypeError' });
  assert.throws(() => new StorageClient({ url: 'ftp://example.com', token: 't'.repeat(20) }), TypeError);
});
