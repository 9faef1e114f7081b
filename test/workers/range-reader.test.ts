// The upload body's chunk reuse: a chunk goes back to the thread's spares only
// once the sink has let go of it, so reuse never changes the bytes sent.

import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { openRange } from '../../src/workers/file-range';
import { RangeReader } from '../../src/workers/range-reader';
import { CHUNK_BYTES, spareChunkCount } from '../../src/workers/spare-chunks';
import { tempDir } from '../support/temp-dir';
import { MIB, randomFile } from './transfer-fixture';

/** A sink that records what it got; with `holdMs`, it reads each chunk only that long after the write, as a busy socket would. */
function recordingSink(holdMs: number): { sink: Writable; digest: () => string; buffers: Set<ArrayBufferLike>; chunks: () => number } {
  const hash = createHash('sha256');
  const buffers = new Set<ArrayBufferLike>();
  let chunks = 0;
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      chunks++;
      buffers.add(chunk.buffer);
      if (holdMs === 0) {
        hash.update(chunk);
        return done();
      }
      setTimeout(() => {
        hash.update(chunk);
        done();
      }, holdMs);
    },
  });
  return { sink, digest: () => hash.digest('hex'), buffers, chunks: () => chunks };
}

test('a range piped into a sink is sent in reused chunks, and the sink gets exactly its bytes', async (t) => {
  const file = randomFile(tempDir(t), 'body.bin', 9 * MIB + 123);
  const { sink, digest, buffers, chunks } = recordingSink(0);
  await pipeline(new RangeReader(openRange(file.path, undefined, undefined)), sink);
  assert.equal(digest(), file.sha256);
  assert.equal(chunks(), 10);
  assert.ok(buffers.size <= 3, `${buffers.size} buffers for ${chunks()} chunks: chunks were not reused`);
  assert.ok(spareChunkCount() > 0, 'the chunks went back to the spares at the end');
});

test('a chunk the sink still holds is not reused: a slow sink gets the same bytes', async (t) => {
  const file = randomFile(tempDir(t), 'body.bin', 6 * MIB + 5);
  const { sink, digest, chunks } = recordingSink(20);
  await pipeline(new RangeReader(openRange(file.path, 1000, 6 * MIB)), sink);
  assert.equal(digest(), createHash('sha256').update(file.bytes.subarray(1000, 6 * MIB + 1)).digest('hex'));
  assert.equal(chunks(), 6);
});

test('read without a sink, the stream never hands out a chunk twice', async (t) => {
  const file = randomFile(tempDir(t), 'body.bin', 4 * MIB);
  const seen = new Set<ArrayBufferLike>();
  const kept: Buffer[] = [];
  for await (const chunk of new RangeReader(openRange(file.path, undefined, undefined)) as AsyncIterable<Buffer>) {
    assert.equal(seen.has(chunk.buffer), false, 'a chunk still held by the reader came back');
    seen.add(chunk.buffer);
    kept.push(chunk);
  }
  assert.ok(Buffer.concat(kept).equals(file.bytes));
  assert.equal(kept[0]!.length, CHUNK_BYTES);
});

test('a range past the end of the file fails the stream instead of sending fewer bytes', async (t) => {
  const file = randomFile(tempDir(t), 'body.bin', 2 * MIB);
  const range = openRange(file.path, 0, 2 * MIB - 1);
  fs.truncateSync(file.path, MIB);
  const { sink } = recordingSink(0);
  await assert.rejects(pipeline(new RangeReader(range), sink), /the file ended at byte 1048576/);
});
