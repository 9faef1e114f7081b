// `storagectl put` tries a file again after a transient failure, reading it
// from its start, under one idempotency key per file: a store whose answer
// was lost on the way back is answered by the retry with the first try's
// photo, so it is stored once. A refusal that says something about the file
// itself is not tried again. It used to report such a file as failed at the
// first lost answer, leaving the operator to find out whether it had gone in.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { spawnDaemon } from '../support/daemon-process';
import { daemonEnv } from '../support/daemon-env';
import { startForwardingProxy } from '../support/forwarding-proxy';
import { pngBytes } from '../support/image-bytes';
import { tempDir } from '../support/temp-dir';
import { ctl } from './storagectl-run';

const TOKEN = 'ops-token-0123456789abcdef';

test('put tries a file whose answer was lost again, and it is stored once; a refused file is tried once', { timeout: 120_000 }, async (t) => {
  const daemon = await spawnDaemon(t, daemonEnv(tempDir(t), null, { STORAGED_TOKENS: `${TOKEN} ops admin` }));
  const gateway = new URL(daemon.httpUrl!);
  // The gateway behind a proxy that lets the first store reach the daemon, then drops its answer.
  const stores: string[] = [];
  const port = await startForwardingProxy(t, { host: gateway.hostname, port: Number(gateway.port) }, (req, res, answer) => {
    if (req.method === 'POST' && (req.url ?? '').startsWith('/photos')) {
      stores.push(String(req.headers['idempotency-key']));
      if (stores.length === 1) {
        answer.resume();
        answer.once('end', () => req.socket.destroy());
        return;
      }
    }
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });

  const work = tempDir(t, 'storagectl-');
  const file = path.join(work, 'one.png');
  fs.writeFileSync(file, pngBytes(40_000));
  const conn = { STORAGED_URL: `http://127.0.0.1:${port}`, STORAGED_TOKEN: TOKEN };
  const put = await ctl(['put', file, '--user', 'u', '--json'], conn);
  assert.equal(put.code, 0, put.err);
  const doc = JSON.parse(put.out) as { stored: { id: string; size: number }[]; failed: unknown[] };
  assert.deepEqual(doc.failed, []);
  assert.equal(doc.stored.length, 1);
  assert.equal(doc.stored[0]!.size, 40_000, 'the retry sent the whole file again');
  assert.equal(stores.length, 2, 'tried twice');
  assert.equal(stores[1], stores[0], 'under the same idempotency key');
  assert.notEqual(stores[0], 'undefined');
  const listed = await ctl(['ls', '--user', 'u', '--all', '--json'], { ...conn, STORAGED_URL: daemon.httpUrl! });
  assert.equal(listed.code, 0, listed.err);
  const all = JSON.parse(listed.out) as { photos: { id: string }[] };
  assert.deepEqual(all.photos.map((p) => p.id), [doc.stored[0]!.id], 'one photo, not two');

  // Not an image: refused for what it is, which another try would not change.
  const text = path.join(work, 'notes.txt');
  fs.writeFileSync(text, 'not a photo');
  const refused = await ctl(['put', text, '--json'], conn);
  assert.equal(refused.code, 1, refused.err);
  assert.equal((JSON.parse(refused.out) as { failed: unknown[] }).failed.length, 1);
  assert.equal(stores.length, 3, 'tried once');
});
