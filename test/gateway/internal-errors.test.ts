// A failure the coordinator did not expect must reach a remote caller as a
// bare 500 INTERNAL: no message, path, stack or cause of the real error. The
// coordinator here is the socket tests' in-memory one with one method
// scripted to fail, since a real daemon has no reliable way to fail this way.

import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import { parseTokenList } from '../../src/daemon/config/gateway-tokens';
import { Gateway } from '../../src/daemon/gateway/gateway';
import { HttpServer } from '../../src/daemon/http/http-server';
import { createLogger } from '../../src/daemon/logger';
import { MemoryCoordinator } from '../socket/memory-coordinator';
import { TOKENS } from './gateway-fixture';

test('an unexpected error is a 500 that leaks nothing, and is logged in full', { timeout: 30_000 }, async (t) => {
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') logs.push(JSON.parse(line));
      done();
    },
  }));
  const coordinator = new MemoryCoordinator();
  coordinator.getPhoto = async () => {
    throw new Error('SQLITE_CORRUPT: database disk image is malformed at /var/lib/storaged/storage.db');
  };
  const gateway = new Gateway({ coordinator, tokens: parseTokenList(`${TOKENS.acme} acme`), readiness: {}, registries: [], logger });
  const server = new HttpServer([gateway.handle], logger);
  const { port } = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());

  const res = await request(`http://127.0.0.1:${port}/photos/00000000-0000-4000-8000-000000000000`, {
    headers: { authorization: `Bearer ${TOKENS.acme}`, 'x-request-id': 'boom-1' },
  });
  assert.equal(res.statusCode, 500);
  assert.deepEqual(await res.body.json(), { error: { code: 'INTERNAL', message: 'internal error', requestId: 'boom-1' } });
  const logged = logs.find((l) => l.msg === 'gateway call failed');
  assert.ok(logged, 'the failure is logged');
  assert.equal(logged.requestId, 'boom-1');
  assert.match(JSON.stringify(logged.err), /SQLITE_CORRUPT/);
});
