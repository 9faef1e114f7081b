// The gateway bounds a request body by silence, not by total time (issue 13,
// item 7): the 300 s whole-request timeout cut off any 5 GiB upload slower
// than 17 MB/s. Here the idle timeout is 1 s: an upload that keeps moving
// for several times that is stored, one that goes quiet mid-body is cut
// with 408 and stores nothing.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { test } from 'node:test';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';

const TOKEN = randomBytes(24).toString('base64url');
const IDLE_S = 1;
const PIECE = 16 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POSTs `pieces` pieces of a PNG body, `gapMs` apart; after `stallAfter` pieces it stops sending (the socket stays open). */
function trickleUpload(base: string, pieces: number, gapMs: number, stallAfter?: number): Promise<{ status: number; body: string }> {
  const body = pngBytes(pieces * PIECE);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/photos?filename=slow.png&userId=u1`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'image/png', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, body: text });
        });
      },
    );
    req.on('error', reject);
    void (async () => {
      for (let i = 0; i < pieces; i++) {
        if (i === stallAfter) return;
        req.write(body.subarray(i * PIECE, (i + 1) * PIECE));
        await sleep(gapMs);
      }
      req.end();
    })();
  });
}

test('a body that keeps moving outlasts the idle timeout several times over; one that stalls is cut with 408', { timeout: 60_000 }, async (t) => {
  const d = await startTestDaemon(t, null, { env: { STORAGED_TOKENS: `${TOKEN} acme`, STORAGED_BODY_IDLE_TIMEOUT_S: String(IDLE_S) } });
  const base = d.daemon.httpUrl!;

  const started = Date.now();
  const steady = await trickleUpload(base, 14, 300);
  const took = Date.now() - started;
  assert.equal(steady.status, 201, steady.body);
  assert.ok(took > 3 * IDLE_S * 1000, `the steady upload took ${took} ms, several idle timeouts`);

  const stalledAt = Date.now();
  const stalled = await trickleUpload(base, 14, 50, 3);
  assert.equal(stalled.status, 408, stalled.body);
  const error = (JSON.parse(stalled.body) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'TIMEOUT');
  assert.match(error.message, /no bytes of the request body arrived for 1 s/);
  assert.ok(Date.now() - stalledAt < 10_000, 'the stalled upload was cut soon after the idle timeout, not at a whole-request limit');

  const photos = await d.client('acme').getUserPhotos('u1');
  assert.equal(photos.photos.length, 1, 'only the steady upload was stored');
});
