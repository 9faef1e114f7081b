import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { BlobUrlSigner, loadOrCreateSigningKey } from '../../src/daemon/blobs/fs-url-signer';

const secret = Buffer.alloc(32, 7);
const now = Date.UTC(2026, 10, 29, 12, 0, 0);

function params(url: string): { path: string; expires: string | null; signature: string | null } {
  const u = new URL(url);
  return { path: u.pathname, expires: u.searchParams.get('expires'), signature: u.searchParams.get('signature') };
}

test('sign makes <base>/blobs/<bucket>/<key>?expires&signature, with a trailing slash on the base ignored', () => {
  const url = new BlobUrlSigner(secret, 'http://127.0.0.1:8080/').sign('images', '2026/11/a.jpg', 3600, now);
  assert.match(url, /^http:\/\/127\.0\.0\.1:8080\/blobs\/images\/2026\/11\/a\.jpg\?expires=\d+&signature=[0-9a-f]{64}$/);
  assert.equal(params(url).expires, String(now / 1000 + 3600));
});

test('verify: ok until the expiry, then expired; any change is a bad signature', () => {
  const signer = new BlobUrlSigner(secret, 'http://h');
  const { expires, signature } = params(signer.sign('images', '2026/11/a.jpg', 60, now));
  assert.equal(signer.verify('images', '2026/11/a.jpg', expires, signature, now), 'ok');
  assert.equal(signer.verify('images', '2026/11/a.jpg', expires, signature, now + 59_000), 'ok');
  assert.equal(signer.verify('images', '2026/11/a.jpg', expires, signature, now + 60_000), 'expired');
  assert.equal(signer.verify('images', '2026/11/b.jpg', expires, signature, now), 'bad-signature');
  assert.equal(signer.verify('files', '2026/11/a.jpg', expires, signature, now), 'bad-signature');
  assert.equal(signer.verify('images', '2026/11/a.jpg', String(Number(expires) + 1), signature, now), 'bad-signature');
  assert.equal(signer.verify('images', '2026/11/a.jpg', expires, signature!.toUpperCase(), now), 'bad-signature');
  assert.equal(signer.verify('images', '2026/11/a.jpg', expires, signature!.slice(2), now), 'bad-signature');
  assert.equal(signer.verify('images', '2026/11/a.jpg', null, signature, now), 'bad-signature');
  assert.equal(signer.verify('images', '2026/11/a.jpg', expires, null, now), 'bad-signature');
  assert.equal(signer.verify('images', '2026/11/a.jpg', '1e10', signature, now), 'bad-signature');
  assert.equal(new BlobUrlSigner(Buffer.alloc(32, 8), 'http://h').verify('images', '2026/11/a.jpg', expires, signature, now), 'bad-signature');
});

test('an expired URL with a forged signature is a bad signature, not merely expired', () => {
  const signer = new BlobUrlSigner(secret, 'http://h');
  assert.equal(signer.verify('images', 'k', '1', '0'.repeat(64), now), 'bad-signature');
});

test('loadOrCreateSigningKey keeps one 32-byte 0600 key across calls and replaces a short one', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-key-'));
  try {
    const file = path.join(dir, 'blob-url.key');
    const first = loadOrCreateSigningKey(file);
    assert.equal(first.length, 32);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateSigningKey(file), first);
    assert.deepEqual(fs.readdirSync(dir), ['blob-url.key'], 'no temp files left');
    fs.writeFileSync(file, 'short');
    const replaced = loadOrCreateSigningKey(file);
    assert.equal(replaced.length, 32);
    assert.notDeepEqual(replaced, first);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Whoever reads the key can sign a URL to any client's blob. The tokens file is
// refused when group or others may read it; the key it stood beside was not.
test('loadOrCreateSigningKey refuses a key that group or others may read, naming the fix', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-key-'));
  try {
    const file = path.join(dir, 'blob-url.key');
    const key = loadOrCreateSigningKey(file);
    fs.chmodSync(file, 0o644);
    assert.throws(() => loadOrCreateSigningKey(file), (err: Error) => {
      assert.equal(err.name, 'ConfigError');
      assert.match(err.message, /^STORAGED_DATA_DIR: .*blob-url\.key has mode 644; .*chmod 600/);
      assert.doesNotMatch(err.message, new RegExp(key.toString('hex')));
      return true;
    });
    fs.chmodSync(file, 0o600);
    assert.deepEqual(loadOrCreateSigningKey(file), key, 'the same key once only its owner may read it');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
