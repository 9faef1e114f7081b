import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Piscina } from 'piscina';
import {
  DOWNLOAD_PART_BYTES,
  givePartBack,
  lentSmallPartSlots,
  readInParts,
  SMALL_PART_BYTES,
  sparePartSlots,
  spareSmallPartSlots,
  takeOnlyPart,
} from '../../src/daemon/blobs/read-in-parts';
import { S3Endpoint } from '../../src/s3/s3-endpoint';
import { metricsOf } from '../../src/daemon/workers/pool-metrics';
import { rejectsWithCode } from '../support/expect-code';
import { freePort } from '../support/free-port';
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

// Issue 13 (gateway.download.200k.c16): a read of one part, such as a photo
// whose size the catalog knows, is one request from the calling thread.
describe('readInParts of one part on the calling thread', () => {
  let minio: MinioHandle;
  let pool: Piscina;
  const photo = randomBytes(200 * 1024);
  /** One download part, but more than a small slot holds. */
  const larger = randomBytes(PART - 1000);
  before(async () => {
    minio = await startMinio();
    await minio.client.makeBucket(BUCKET);
    await minio.client.putObject(BUCKET, 'photo.bin', photo, photo.length);
    await minio.client.putObject(BUCKET, 'larger.bin', larger, larger.length);
  });
  after(() => minio.dispose());
  pool = testPool({ after });
  const t = () => transfersFor(minio, pool);
  const one = (key: string, start: number, end: number, objectSize?: number) =>
    readInParts(t(), { bucket: BUCKET, key, range: { start, end }, onThisThread: true, ...(objectSize !== undefined && { objectSize }) });

  it('returns exact bytes of whole objects and of ranges, each in one request, and runs nothing on the pool', async () => {
    const tasksBefore = pool.completed;
    const downloadedBefore = metricsOf(pool).bytesDownloaded;
    let expected = 0;
    const reads: Array<[string, Buffer, number, number, number?]> = [
      ['photo.bin', photo, 0, photo.length - 1, photo.length],
      ['photo.bin', photo, 0, 0],
      ['photo.bin', photo, 1000, 2000],
      ['photo.bin', photo, photo.length - 1, photo.length - 1],
      ['larger.bin', larger, 0, larger.length - 1, larger.length],
    ];
    for (const [key, bytes, start, end, objectSize] of reads) {
      const got = await sha256OfStream(await one(key, start, end, objectSize));
      assert.deepEqual(got, { sha256: sha(bytes.subarray(start, end + 1)), size: end - start + 1 }, `${key} ${start}-${end}`);
      expected += end - start + 1;
    }
    assert.equal(pool.completed, tasksBefore, 'no task went to the pool');
    assert.equal(metricsOf(pool).bytesDownloaded - downloadedBefore, expected, 'the bytes are counted as the pool\'s would be');
  });

  it('hands a small part on as one piece of a small slot, a larger one in a part slot, and the small slot comes back', async () => {
    const lentBefore = lentSmallPartSlots();
    const pieces: Buffer[] = [];
    for await (const piece of await one('photo.bin', 0, photo.length - 1, photo.length)) pieces.push(piece as Buffer);
    assert.equal(pieces.length, 1, 'one write for the whole photo');
    assert.equal(pieces[0]!.buffer.byteLength, SMALL_PART_BYTES);
    assert.equal(lentSmallPartSlots(), lentBefore + 1);
    givePartBack(pieces[0]!);
    assert.equal(lentSmallPartSlots(), lentBefore);
    assert.ok(spareSmallPartSlots() > 0, 'kept for the next small read');
    for await (const piece of await one('larger.bin', 0, larger.length - 1, larger.length)) {
      assert.equal((piece as Buffer).buffer.byteLength, DOWNLOAD_PART_BYTES);
      givePartBack(piece as Buffer);
    }
  });

  it('takeOnlyPart hands over a read of one part whole, once, and leaves other streams to be read', async () => {
    const lentBefore = lentSmallPartSlots();
    const read = await one('photo.bin', 0, photo.length - 1, photo.length);
    const only = takeOnlyPart(read);
    assert.ok(only !== null);
    assert.equal(sha(only), sha(photo), 'the exact bytes, from the slot');
    assert.equal(only.buffer.byteLength, SMALL_PART_BYTES);
    assert.equal(takeOnlyPart(read), null, 'taken once');
    assert.deepEqual(await read.toArray(), [], 'the stream has nothing more');
    assert.equal(metricsOf(pool).readAheadBytes, 0, 'nothing counted ahead once taken');
    assert.equal(lentSmallPartSlots(), lentBefore + 1);
    givePartBack(only);
    assert.equal(lentSmallPartSlots(), lentBefore);

    // A part of a larger read, or a stream already being read, is not taken.
    const ranged = await one('larger.bin', 0, 99);
    const rangedPart = takeOnlyPart(ranged);
    assert.ok(rangedPart !== null, 'a range of one part is one part too');
    givePartBack(rangedPart);
    const started = await one('photo.bin', 0, photo.length - 1, photo.length);
    const pieces: Buffer[] = [];
    for await (const piece of started) {
      pieces.push(piece as Buffer);
      assert.equal(takeOnlyPart(started), null, 'a stream already read keeps its bytes to itself');
    }
    assert.equal(sha(Buffer.concat(pieces)), sha(photo));
    for (const piece of pieces) givePartBack(piece);
    const twoParts = randomBytes(PART + 1000);
    await minio.client.putObject(BUCKET, 'two-parts.bin', twoParts, twoParts.length);
    const multi = await readInParts(t(), { bucket: BUCKET, key: 'two-parts.bin' });
    assert.equal(takeOnlyPart(multi), null, 'a read of several parts streams');
    assert.deepEqual(await sha256OfStream(multi), { sha256: sha(twoParts), size: twoParts.length });
  });

  it('an object of another size than the caller was told is INTERNAL; missing NOT_FOUND, past its end RANGE_NOT_SATISFIABLE, MinIO gone UNAVAILABLE', async () => {
    const lentBefore = lentSmallPartSlots();
    await rejectsWithCode(one('photo.bin', 0, photo.length, photo.length + 1), 'INTERNAL', new RegExp(`holds ${photo.length} bytes where the catalog says ${photo.length + 1}`));
    await rejectsWithCode(one('photo.bin', 0, photo.length - 2, photo.length - 1), 'INTERNAL', /where the catalog says/);
    await rejectsWithCode(one('absent.bin', 0, 99, 100), 'NOT_FOUND', /NoSuchKey/);
    await rejectsWithCode(one('photo.bin', photo.length, photo.length + 5), 'RANGE_NOT_SATISFIABLE');
    const settings = { ...t().settings, port: await freePort() };
    const gone = { ...t(), settings, endpoint: new S3Endpoint(settings), retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } };
    await rejectsWithCode(readInParts(gone, { bucket: BUCKET, key: 'photo.bin', range: { start: 0, end: 99 }, onThisThread: true }), 'UNAVAILABLE', /ECONNREFUSED/);
    assert.equal(lentSmallPartSlots(), lentBefore, 'failed reads give their slots back');
    assert.equal(metricsOf(pool).readAheadBytes, 0, 'and leave nothing counted ahead');
  });
});
