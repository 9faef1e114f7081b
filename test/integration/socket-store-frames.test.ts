// A socket store's body arrives in frame slots (memory/upload-frames.ts). A
// body small enough to stay in memory is stored from its slot; once the store
// has answered, the slot goes back to the pool for the next body. Dropped
// instead, each slot waited for a full collection: under memory.mixed up to
// 244 of them (61 MiB) were held by 200 KB stores that had long answered.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { lentFrameSlots, spareFrameSlots } from '../../src/daemon/memory/upload-frames';
import { rejectsWithCode } from '../support/expect-code';
import { jpegBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';

const KIB = 1024;
/** More stores than the pool keeps spare slots (32): dropped slots would leave it empty. */
const STORES = 48;

test('in-memory socket stores give their frame slots back once answered, and every photo keeps its own bytes', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio);
  const client = d.client('acme');
  // Different bytes and sizes in every body: a slot handed to the next body while the last still read it would change a digest.
  const bodies = Array.from({ length: STORES }, (_, n) => jpegBytes(200 * KIB + n * 97));
  const stored = [];
  // Eight at a time, so that bodies in flight take slots the others have just given back.
  for (let at = 0; at < STORES; at += 8) {
    stored.push(...(await Promise.all(bodies.slice(at, at + 8).map((bytes, n) => client.storePhoto(bytes, { originalName: `s${at + n}.jpg`, clientId: 'acme' })))));
  }
  for (const [n, photo] of stored.entries()) {
    assert.equal(photo.checksum, sha256(bodies[n]!), `store ${n}`);
    const back = await client.readPhoto(photo.id);
    assert.equal(sha256(Buffer.concat(await back.body.toArray())), photo.checksum, `read ${n}`);
  }
  assert.equal(lentFrameSlots(), 0, 'no store holds a frame slot once it has answered');
  assert.ok(spareFrameSlots() > 0, 'the slots came back to the pool');

  // A store refused after its body arrived gives its slot back too.
  const lentBefore = lentFrameSlots();
  await rejectsWithCode(client.storePhoto(jpegBytes(200 * KIB), { originalName: 'bad.jpg', clientId: 'acme', sha256: 'ab'.repeat(32) }), 'CHECKSUM_MISMATCH');
  assert.equal(lentFrameSlots(), lentBefore);
});
