import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Piscina } from 'piscina';
import { hashFileIn } from '../../src/daemon/workers/hash-task';
import { metricsOf } from '../../src/daemon/workers/pool-metrics';
import { rejectsWithCode } from '../support/expect-code';
import { MIB, testPool } from './transfer-fixture';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('hashFile on the worker pool', () => {
  let pool: Piscina;
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-hash-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  pool = testPool({ after });

  const file = (name: string, bytes: Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  };

  it('equals createHash over whole files of odd sizes, across the 1 MiB read boundary', async () => {
    for (const size of [0, 1, 7, MIB - 1, MIB, MIB + 1, 3 * MIB + 12_345]) {
      const bytes = randomBytes(size);
      assert.equal(await hashFileIn(pool, file(`whole-${size}`, bytes)), sha(bytes), `size ${size}`);
    }
  });

  it('equals createHash over inclusive ranges: first byte, last byte, a middle span, the whole as a range', async () => {
    const bytes = randomBytes(2 * MIB + 333);
    const p = file('ranges', bytes);
    const last = bytes.length - 1;
    const ranges = [
      [0, 0],
      [last, last],
      [1, MIB],
      [MIB - 1, MIB + 1],
      [12_345, 2 * MIB],
      [0, last],
    ] as const;
    for (const [start, end] of ranges) {
      assert.equal(await hashFileIn(pool, p, { start, end }), sha(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
  });

  it('counts the bytes it hashed in the pool metrics', async () => {
    const bytes = randomBytes(MIB + 5);
    const p = file('counted', bytes);
    const before = metricsOf(pool).bytesHashed;
    await hashFileIn(pool, p);
    await hashFileIn(pool, p, { start: 5, end: 104 });
    assert.equal(metricsOf(pool).bytesHashed - before, bytes.length + 100);
  });

  it('snapshot() reports the pool: its threads, an empty queue, utilization as a share, the byte counters', async () => {
    await hashFileIn(pool, file('snap', randomBytes(10)));
    const snap = metricsOf(pool).snapshot();
    assert.equal(snap.threads, 2);
    assert.equal(snap.queueDepth, 0);
    assert.ok(snap.utilization >= 0 && snap.utilization <= 1, `utilization ${snap.utilization}`);
    assert.equal(snap.bytesHashed, metricsOf(pool).bytesHashed);
    assert.ok(snap.bytesHashed > 0);
    assert.deepEqual([snap.bytesUploaded, snap.bytesDownloaded, snap.readAheadBytes], [0, 0, 0]);
  });

  it('refuses a missing file, a range past the end and a malformed range with VALIDATION', async () => {
    const p = file('short', randomBytes(100));
    await rejectsWithCode(hashFileIn(pool, path.join(dir, 'absent')), 'VALIDATION', /cannot open .*ENOENT/);
    await rejectsWithCode(hashFileIn(pool, p, { start: 0, end: 100 }), 'VALIDATION', /holds 100 bytes; bytes 0-100/);
    await rejectsWithCode(hashFileIn(pool, p, { start: 50, end: 10 }), 'VALIDATION', /range end must be an integer ≥ start/);
    await rejectsWithCode(hashFileIn(pool, p, { start: -1, end: 10 }), 'VALIDATION', /non-negative integer/);
  });

  it('stops at the next megabyte when its signal fires, with CLOSED', async () => {
    const p = file('cancelled', randomBytes(8 * MIB));
    const controller = new AbortController();
    controller.abort();
    await rejectsWithCode(hashFileIn(pool, p, undefined, controller.signal), 'CLOSED', /cancelled/);
    // The pool is still usable afterwards.
    assert.equal(await hashFileIn(pool, p, { start: 0, end: 0 }), sha(fs.readFileSync(p).subarray(0, 1)));
  });
});
