// A flood of calls far past the daemon's limit, from clients that retry at
// once whatever they are told, against a daemon in its own process: every
// call is answered (a result or a retryable UNAVAILABLE naming the setting),
// the daemon's peak memory stays within the default memory budget, and a
// well-behaved client of another tenant is served on every call throughout.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { StorageError } from '../../src/protocol/errors';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { jpegBytes } from '../support/image-bytes';
import { tempDir } from '../support/temp-dir';

const FLOOD_CONNECTIONS = 10;
/** Each flooding connection keeps this many calls going: the protocol's 256 in flight, and more queued in the client. */
const FLOOD_LOOPS_PER_CONNECTION = 280;
const FLOOD_MS = 6000;
const PEAK_RSS_BOUND_MIB = 256;

function peakRssMiB(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line!.split(/\s+/)[1]) / 1024;
}

test('a flood of calls past the limit: every call answered, memory bounded, and a quiet tenant served throughout', async (t) => {
  const daemon = await spawnDaemon(
    t,
    daemonEnv(tempDir(t), null, { STORAGED_MAX_CALLS: '16', STORAGED_MAX_WAITING_CALLS: '64', STORAGED_CALL_WAIT_MS: '2000' }),
  );
  const options = (clientId: string) => ({ socketPath: daemon.socketPath, clientId, retry: false as const, cacheConfig: { enabled: false } });
  const good = new StorageClient(options('good'));
  const flooders = Array.from({ length: FLOOD_CONNECTIONS }, () => new StorageClient(options('flood')));
  t.after(() => Promise.all([good, ...flooders].map((c) => c.close())));
  for (let i = 0; i < 50; i++) await flooders[0]!.storePhoto(jpegBytes(2000), { originalName: `sunset ${i}.jpg`, clientId: 'flood', userId: 'u' });
  for (let i = 0; i < 5; i++) await good.storePhoto(jpegBytes(2000), { originalName: `beach ${i}.jpg`, clientId: 'good', userId: 'g' });
  const idleRss = peakRssMiB(daemon.proc.pid!);

  const until = performance.now() + FLOOD_MS;
  const flood = { results: 0, refusals: 0, other: new Map<string, number>() };
  const floodLoop = async (client: StorageClient) => {
    while (performance.now() < until) {
      try {
        await client.searchPhotos({ query: 'sunset', limit: 20 });
        flood.results++;
      } catch (err) {
        if (err instanceof StorageError && err.code === 'UNAVAILABLE' && err.retryable && /STORAGED_MAX_CALLS/.test(err.message)) {
          flood.refusals++;
        } else {
          const key = err instanceof StorageError ? `${err.code}: ${err.message}` : String(err);
          flood.other.set(key, (flood.other.get(key) ?? 0) + 1);
        }
      }
    }
  };
  const quiet = { served: 0, failures: [] as string[], slowestMs: 0 };
  const quietLoop = async () => {
    // Give the flood a moment to fill the daemon before the quiet tenant's first call.
    await new Promise((r) => setTimeout(r, 200));
    while (performance.now() < until) {
      const started = performance.now();
      try {
        const page = await good.getUserPhotos('g', { limit: 10 });
        assert.equal(page.photos.length, 5);
        quiet.served++;
      } catch (err) {
        quiet.failures.push(err instanceof StorageError ? `${err.code}: ${err.message}` : String(err));
      }
      quiet.slowestMs = Math.max(quiet.slowestMs, performance.now() - started);
    }
  };
  await Promise.all([...flooders.flatMap((c) => Array.from({ length: FLOOD_LOOPS_PER_CONNECTION }, () => floodLoop(c))), quietLoop()]);

  const peak = peakRssMiB(daemon.proc.pid!);
  t.diagnostic(
    `flood: ${flood.results} results, ${flood.refusals} refusals, other: ${JSON.stringify([...flood.other])}; ` +
      `quiet tenant: ${quiet.served} calls served, ${quiet.failures.length} failed, slowest ${quiet.slowestMs.toFixed(1)} ms; ` +
      `daemon peak RSS ${peak.toFixed(1)} MiB (idle ${idleRss.toFixed(1)} MiB)`,
  );
  assert.deepEqual([...flood.other], [], 'every flood call got a result or a retryable UNAVAILABLE naming STORAGED_MAX_CALLS');
  assert.ok(flood.refusals > 0, 'the flood went past the limit');
  assert.ok(flood.results > 0, 'the flooding tenant is still served its share');
  assert.deepEqual(quiet.failures, [], 'the quiet tenant was served on every call');
  // How many it made depends on how busy the machine is (its latency is mostly this process: thousands of
  // flood loops share its event loop), so only that it made some, and that each one was served, is asserted.
  assert.ok(quiet.served >= 1, `the quiet tenant made ${quiet.served} calls`);
  assert.ok(peak < PEAK_RSS_BOUND_MIB, `peak RSS ${peak.toFixed(1)} MiB over ${PEAK_RSS_BOUND_MIB} MiB`);
});
