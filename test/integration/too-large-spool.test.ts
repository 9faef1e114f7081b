// A body that passes its byte limit part-way (no size declared, so it is
// refused as it arrives): by the time the caller hears TOO_LARGE, nothing of
// the store is left here. The socket answered the moment its body passed
// STORAGED_MAX_BODY_BYTES, while the store was still removing its spool file
// (and undoing the multipart upload it had begun early), so a caller, a test
// or an operator acting on the answer could see the leftover. The gateway
// answered only once the store was undone; it is checked alike.
//
// A real daemon (in this process, so the spool directory and the catalog can
// be read the moment the answer arrives) over a real MinIO: 12 MiB arriving
// against an 8 MiB limit, spooled from 64 KiB, with the early upload begun at
// 5 MiB.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { StorageError } from '../../src/protocol/errors';
import { startGateway } from '../gateway/gateway-fixture';
import { jpegBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';

const MIB = 1024 * 1024;
const LIMIT = 8 * MIB;
const SENT = 12 * MIB;
const ROUNDS = 3;

/** The body in 256 KiB pieces of a stream, so no size goes with it and the limit is met mid-stream. */
function streamed(body: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < body.length; at += 256 * 1024) pieces.push(body.subarray(at, at + 256 * 1024));
  return Readable.from(pieces);
}

test('a body refused mid-stream as TOO_LARGE has left no spool file, pending row or upload when the answer arrives, on both doors', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const g = await startGateway(t, minio, {
    STORAGED_MAX_BODY_BYTES: String(LIMIT),
    STORAGED_SPOOL_THRESHOLD_BYTES: String(64 * 1024),
    STORAGED_PART_BYTES: String(5 * MIB),
  });
  const spool = path.join(g.dataDir, 'spool');
  const body = jpegBytes(SENT);
  const leftovers = async () => ({
    spoolFiles: fs.readdirSync(spool),
    pendingRows: (await g.daemon.catalog.countByState()).pending,
  });
  const nothingLeft = { spoolFiles: [], pendingRows: 0 };
  const sidecar = g.client('acme');

  for (let round = 0; round < ROUNDS; round++) {
    let refusal: unknown;
    try {
      await sidecar.storePhoto(streamed(body), { originalName: `big-${round}.jpg`, clientId: 'acme' });
    } catch (err) {
      refusal = err;
    }
    // Read before anything else runs: what the caller may act on now.
    const left = await leftovers();
    assert.ok(refusal instanceof StorageError && refusal.code === 'TOO_LARGE', `socket round ${round}: ${String(refusal)}`);
    assert.equal(refusal.details?.limit, LIMIT);
    assert.deepEqual(left, nothingLeft, `socket round ${round}`);
  }

  for (let round = 0; round < ROUNDS; round++) {
    // No content-length: the gateway meets the limit as the body arrives, as the socket does.
    const res = await g.json('POST', `/photos?filename=big-http-${round}.jpg`, { body: streamed(body), headers: { 'content-type': 'image/jpeg' } });
    const left = await leftovers();
    assert.deepEqual([res.status, res.body?.error?.code], [413, 'TOO_LARGE'], `gateway round ${round}`);
    assert.deepEqual(left, nothingLeft, `gateway round ${round}`);
  }

  // The daemon still stores, on both doors.
  assert.equal((await sidecar.storePhoto(jpegBytes(2 * MIB), { originalName: 'fits.jpg', clientId: 'acme' })).size, 2 * MIB);
  assert.equal((await g.json('POST', '/photos?filename=fits-http.jpg', { body: jpegBytes(MIB), headers: { 'content-type': 'image/jpeg' } })).status, 201);
});
