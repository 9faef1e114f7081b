import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Piscina } from 'piscina';
import { DOWNLOAD_PART_BYTES, givePartBack, readInParts, sparePartSlots } from '../../src/daemon/blobs/read-in-parts';
import { metricsOf } from '../../src/daemon/workers/pool-metrics';
import { rejectsWithCode } from '../support/expect-code';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { MIB, sha256OfStream, testPool, transfersFor, until } from './transfer-fixture';

const BUCKET = 'files';
/** Downloads have their own part size; the transfers' (upload) part size must not change it. */
const PART = DOWNLOAD_PART_BYTES;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('readInParts through the worker pool', () => {
  let minio: MinioHandle;
  let pool: Piscina;
  /** 10 download parts, the last one short. */
  const big = randomBytes(40 * 1000 * 1000 + 4321);
  before(async () => {
    minio = await startMinio();
    await minio.client.makeBucket(BUCKET);
    await minio.client.putObject(BUCKET, 'big.bin', big, big.length);
    await minio.client.putObject(BUCKET, 'small.bin', big.subarray(0, 1000), 1000);
    await minio.client.putObject(BUCKET, 'empty.bin', Buffer.alloc(0), 0);
  });
  after(() => minio.dispose());
  pool = testPool({ after });
  const t = () => transfersFor(minio, pool, { partBytes: 16 * MIB });

  it('returns the exact bytes of a whole object, large and small, and of an empty one', async () => {
    assert.deepEqual(await sha256OfStream(await readInParts(t(), { bucket: BUCKET, key: 'big.bin' })), { sha256: sha(big), size: big.length });
    assert.deepEqual(await sha256OfStream(await readInParts(t(), { bucket: BUCKET, key: 'small.bin' })), {
      sha256: sha(big.subarray(0, 1000)),
      size: 1000,
    });
    assert.deepEqual(await sha256OfStream(await readInParts(t(), { bucket: BUCKET, key: 'empty.bin' })), { sha256: sha(Buffer.alloc(0)), size: 0 });
  });

  it('returns exactly the bytes of ranges: first byte, last byte, across part boundaries, the tail', async () => {
    const last = big.length - 1;
    const ranges = [
      [0, 0],
      [last, last],
      [PART - 1, PART],
      [123, 3 * PART + 77],
      [7 * PART - 5, last],
      [0, last],
    ] as const;
    for (const [start, end] of ranges) {
      const got = await sha256OfStream(await readInParts(t(), { bucket: BUCKET, key: 'big.bin', range: { start, end } }));
      assert.deepEqual(got, { sha256: sha(big.subarray(start, end + 1)), size: end - start + 1 }, `bytes ${start}-${end}`);
    }
  });

  it('a range past the end is RANGE_NOT_SATISFIABLE, a missing object NOT_FOUND, both before any stream', async () => {
    await rejectsWithCode(readInParts(t(), { bucket: BUCKET, key: 'small.bin', range: { start: 0, end: 1000 } }), 'RANGE_NOT_SATISFIABLE', /holds 1000 bytes/);
    await rejectsWithCode(readInParts(t(), { bucket: BUCKET, key: 'small.bin', range: { start: 1000, end: 1000 } }), 'RANGE_NOT_SATISFIABLE');
    await rejectsWithCode(readInParts(t(), { bucket: BUCKET, key: 'absent.bin' }), 'NOT_FOUND', /NoSuchKey/);
    await rejectsWithCode(readInParts(t(), { bucket: BUCKET, key: 'small.bin', range: { start: 10, end: 9 } }), 'VALIDATION', /0 ≤ start ≤ end/);
    await rejectsWithCode(readInParts(t(), { bucket: BUCKET, key: 'small.bin', range: { start: -1, end: 9 } }), 'VALIDATION');
    await rejectsWithCode(readInParts(t(), { bucket: 'no-such-bucket', key: 'big.bin' }), 'NOT_FOUND');
    assert.equal(metricsOf(pool).readAheadBytes, 0, 'failed reads leave nothing counted ahead');
  });

  it('with a slow reader, fetches no more than the read-ahead: bytes ahead ≤ 2 parts, bytes fetched ≤ read + 3 parts', async () => {
    const metrics = metricsOf(pool);
    await until(() => metrics.readAheadBytes === 0, 'earlier reads to settle');
    const downloadedBefore = metrics.bytesDownloaded;
    // The peak is kept since the pool started; earlier tests in this file stay within the same bound.
    const stream = await readInParts(t(), { bucket: BUCKET, key: 'big.bin', readAhead: 2 });
    let consumed = 0;
    let worstLead = 0;
    const hash = createHash('sha256');
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      consumed += chunk.length;
      // A reader slower than the pool: give the threads time to run ahead if they would.
      await new Promise((r) => setTimeout(r, 3));
      worstLead = Math.max(worstLead, metrics.bytesDownloaded - downloadedBefore - consumed);
    }
    assert.equal(hash.digest('hex'), sha(big));
    assert.ok(metrics.readAheadPeakBytes <= 2 * PART, `peak ahead ${metrics.readAheadPeakBytes} > ${2 * PART}`);
    assert.ok(metrics.readAheadPeakBytes >= PART, 'parts were fetched ahead of the reader');
    assert.ok(worstLead <= 3 * PART, `fetched ${worstLead} bytes beyond what was read`);
    assert.equal(metrics.readAheadBytes, 0);
  });

  it('destroying the stream stops fetching: what was fetched stays within the read-ahead', async () => {
    const metrics = metricsOf(pool);
    const downloadedBefore = metrics.bytesDownloaded;
    const stream = await readInParts(t(), { bucket: BUCKET, key: 'big.bin', readAhead: 2 });
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    assert.equal(first.length, MIB);
    stream.destroy();
    await until(() => metrics.readAheadBytes === 0, 'parts in flight to settle');
    const fetched = metrics.bytesDownloaded - downloadedBefore;
    assert.ok(fetched <= 3 * PART, `fetched ${fetched} bytes after reading one chunk`);
    assert.ok(fetched < big.length);
  });

  // Last: two readers at once run twice the read-ahead, which the peak above would count.
  it('parts given back are used again, and concurrent readers that give theirs back still get exact bytes', async () => {
    const memories = new Set<ArrayBufferLike>();
    const readAndGiveBack = async () => {
      const hash = createHash('sha256');
      let size = 0;
      let previous: Buffer | null = null;
      for await (const piece of await readInParts(t(), { bucket: BUCKET, key: 'big.bin' })) {
        const bytes = piece as Buffer;
        // A part comes as several slices of one memory: it is done with once a slice of another arrives.
        if (previous !== null && previous.buffer !== bytes.buffer) {
          givePartBack(previous);
          // A reader may offer what it got more than once; the second is ignored, not a double free.
          givePartBack(previous);
        }
        hash.update(bytes);
        size += bytes.length;
        memories.add(bytes.buffer);
        previous = bytes;
      }
      if (previous !== null) givePartBack(previous);
      return { sha256: hash.digest('hex'), size };
    };
    const [a, b] = await Promise.all([readAndGiveBack(), readAndGiveBack()]);
    assert.deepEqual(a, { sha256: sha(big), size: big.length });
    assert.deepEqual(b, { sha256: sha(big), size: big.length });
    const parts = Math.ceil(big.length / PART);
    assert.ok(memories.size < parts, `2 × ${parts} parts lived in ${memories.size} blocks of memory`);
    assert.ok(sparePartSlots() > 0, 'slots given back are kept for the next read');
  });

  it('a reader that keeps its parts gets bytes no later read overwrites', async () => {
    const kept: Buffer[] = [];
    for await (const piece of await readInParts(t(), { bucket: BUCKET, key: 'big.bin' })) kept.push(piece as Buffer);
    // Reads that do give back their parts, in between.
    for await (const piece of await readInParts(t(), { bucket: BUCKET, key: 'small.bin' })) givePartBack(piece as Buffer);
    assert.equal(sha(Buffer.concat(kept)), sha(big));
  });
});
