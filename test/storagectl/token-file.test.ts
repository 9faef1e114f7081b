// A token given as --token T is in storagectl's command line, which every
// user of the host reads in the process list (/proc/PID/cmdline, ps). The
// token stands for its client's photos, so storagectl can read it from a file
// only its owner may read instead, as the daemon reads its tokens file.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { tempDir } from '../support/temp-dir';
import { ctl } from './storagectl-run';

const TOKEN = 'acme-token-0123456789abcdef';

test('--token-file reads the token from a file only its owner may read, and refuses one others may', { timeout: 60_000 }, async (t) => {
  const daemon = await startTestDaemon(t, null, { env: { STORAGED_TOKENS: `${TOKEN} acme` } });
  const stored = await daemon.client('acme').storePhoto(pngBytes(1500), { originalName: 'a.png', clientId: 'acme', userId: 'u1' });
  const dir = tempDir(t, 'storagectl-token-');
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  const socket = ['--socket', daemon.socketPath, '--client', 'acme'];

  const ls = await ctl([...socket, '--token-file', file, 'ls', '--user', 'u1', '--json']);
  assert.equal(ls.code, 0, ls.err);
  assert.deepEqual((JSON.parse(ls.out) as { photos: { id: string }[] }).photos.map((p) => p.id), [stored.id]);

  fs.chmodSync(file, 0o640);
  const lax = await ctl([...socket, '--token-file', file, 'ls', '--user', 'u1']);
  assert.equal(lax.code, 2);
  assert.match(lax.err, /^storagectl: .*token has mode 640; it holds a token, so allow only its owner \(chmod 600\)/);
  assert.doesNotMatch(lax.err, new RegExp(TOKEN));

  const both = await ctl([...socket, '--token', TOKEN, '--token-file', file, 'ls', '--user', 'u1']);
  assert.equal(both.code, 2);
  assert.match(both.err, /give --token or --token-file, not both/);

  const missing = await ctl([...socket, '--token-file', path.join(dir, 'nothing'), 'ls', '--user', 'u1']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot read .*nothing: ENOENT/);
});
