// One AbortSignal an application passes to every call (its shutdown signal,
// say) must not keep something of each call alive. The remote client joined
// it to each call's deadline with AbortSignal.any, which on Node 20 ties every
// joined signal (and what it holds) to the caller's for as long as that one
// lives: about 2 KB more heap per call, for good.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('a long-lived caller signal does not hold on to each call', () => {
  const script = `
    const { RemoteClient } = require(${JSON.stringify(require.resolve('../../src/remote-client'))});
    (async () => {
      // A closed client: each call still makes its deadline, then fails at once, with no network in the way.
      const c = new RemoteClient({ url: 'http://127.0.0.1:9', token: 'x'.repeat(32) });
      await c.close();
      const caller = new AbortController().signal;
      const heap = () => { global.gc(); return process.memoryUsage().heapUsed; };
      for (let i = 0; i < 5000; i++) await c.getPhoto('p', { signal: caller }).catch(() => {});
      const before = heap();
      for (let i = 0; i < 50000; i++) await c.getPhoto('p', { signal: caller }).catch(() => {});
      process.stdout.write(JSON.stringify({ grew: heap() - before }));
    })();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const { grew } = JSON.parse(r.stdout) as { grew: number };
  // 50,000 calls: kept per call, that is about 100 MB; let go, the heap stays where it was.
  assert.ok(grew < 10 * 1024 * 1024, `the heap grew ${(grew / 1048576).toFixed(1)} MiB over 50,000 calls`);
});
