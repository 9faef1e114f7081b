import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Piscina } from 'piscina';
import { GrowingFileHash } from '../../src/daemon/workers/hash-task';
import { metricsOf } from '../../src/daemon/workers/pool-metrics';
import { rejectsWithCode } from '../support/expect-code';
import { MIB, testPool } from './transfer-fixture';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('a file hashed on the worker pool while it is written', () => {
  let pool: Piscina;
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-growing-hash-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  pool = testPool({ after });

  it('equals createHash of every byte, written in uneven steps with pauses between them', async () => {
    const bytes = randomBytes(9 * MIB + 4321);
    const p = path.join(dir, 'steps');
    const fd = fs.openSync(p, 'w');
    const hashed = new GrowingFileHash(pool, p);
    const before = metricsOf(pool).bytesHashed;
    let written = 0;
    for (const step of [1, 700_000, 3 * MIB, 5, 2 * MIB + 17]) {
      fs.writeSync(fd, bytes, written, step);
      written += step;
      hashed.grew(written);
      // The task waits for more, rather than finishing early or spinning.
      await sleep(20);
    }
    fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.closeSync(fd);
    assert.equal(await hashed.complete(bytes.length), sha(bytes));
    assert.equal(metricsOf(pool).bytesHashed - before, bytes.length);
  });

  it('equals createHash of an empty file and of one completed in a single step', async () => {
    for (const size of [0, 3 * MIB + 1]) {
      const bytes = randomBytes(size);
      const p = path.join(dir, `once-${size}`);
      fs.writeFileSync(p, bytes);
      assert.equal(await new GrowingFileHash(pool, p).complete(size), sha(bytes), `size ${size}`);
    }
  });

  it('stops when abandoned while it waits for bytes that never come, and the pool goes on', async () => {
    const p = path.join(dir, 'abandoned');
    fs.writeFileSync(p, randomBytes(1000));
    const hashed = new GrowingFileHash(pool, p);
    hashed.grew(1000);
    await sleep(20);
    hashed.abandon();
    // complete() after abandon() reports the cancellation, not a digest of what was there.
    await rejectsWithCode(hashed.complete(1000), 'CLOSED', /cancelled/);
    const bytes = randomBytes(10);
    fs.writeFileSync(p, bytes);
    assert.equal(await new GrowingFileHash(pool, p).complete(10), sha(bytes));
  });

  it('refuses a file shorter than announced, and a missing file', async () => {
    const p = path.join(dir, 'short');
    fs.writeFileSync(p, randomBytes(100));
    await rejectsWithCode(new GrowingFileHash(pool, p).complete(200), 'VALIDATION', /holds fewer than the 200 bytes announced/);
    await rejectsWithCode(new GrowingFileHash(pool, path.join(dir, 'none')).complete(1), 'VALIDATION', /does not exist/);
  });
});
