import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { SpoolFile, unwritten } from '../../src/daemon/intake/spool-file';
import { tempDir } from '../support/temp-dir';

test('a spool file holds every appended byte in order, chunks that wait together go out in one write', async (t) => {
  const dir = tempDir(t);
  const writes: { bytes: number; chunks: number }[] = [];
  const reported: Uint8Array[] = [];
  const spool = new SpoolFile(dir, (_path, bytes, chunks) => {
    writes.push({ bytes, chunks: chunks.length });
    reported.push(...chunks);
  });
  await spool.open();
  const chunks = Array.from({ length: 40 }, (_, n) => randomBytes(1000 + n * 997));
  for (const chunk of chunks) await spool.append(chunk);
  await spool.finish();

  assert.deepEqual(fs.readFileSync(spool.path), Buffer.concat(chunks));
  assert.equal((fs.statSync(spool.path).mode & 0o777).toString(8), '600');
  // Every chunk is reported written exactly once, in order, and the totals grow to the whole.
  assert.deepEqual(reported, chunks);
  assert.deepEqual(writes.map((w) => w.bytes), [...writes.map((w) => w.bytes)].sort((a, b) => a - b));
  assert.equal(writes.at(-1)!.bytes, Buffer.concat(chunks).length);
  // Appends made while a write was in flight waited for it and left together.
  assert.ok(writes.length < chunks.length, `${chunks.length} chunks took ${writes.length} writes`);
});

test('appends past the queue bound wait for the disk; a discarded spool leaves no file, even with writes in flight', async (t) => {
  const dir = tempDir(t);
  const spool = new SpoolFile(dir, () => undefined);
  await spool.open();
  let waited = false;
  for (let n = 0; n < 12; n++) {
    const append = spool.append(Buffer.alloc(256 * 1024, n));
    let settled = false;
    void append.then(() => (settled = true));
    await Promise.resolve();
    if (!settled) waited = true;
    await append;
  }
  assert.ok(waited, 'some append waited for the writes ahead of it');
  void spool.append(Buffer.alloc(256 * 1024));
  await spool.discard();
  assert.deepEqual(fs.readdirSync(dir), []);
  await spool.discard();
});

test('a spool whose file cannot be made fails to open and leaves nothing', async (t) => {
  const dir = tempDir(t);
  const spool = new SpoolFile(`${dir}/missing`, () => undefined);
  await assert.rejects(spool.open(), { code: 'ENOENT' });
  await spool.discard();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('what remains after a short write: whole chunks skipped, the next one cut', () => {
  const a = Buffer.from('abc');
  const b = Buffer.from('defg');
  const c = Buffer.from('h');
  const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString();
  assert.equal(text(unwritten([a, b, c], 0)), 'abcdefgh');
  assert.equal(text(unwritten([a, b, c], 2)), 'cdefgh');
  assert.equal(text(unwritten([a, b, c], 3)), 'defgh');
  assert.equal(text(unwritten([a, b, c], 5)), 'fgh');
  assert.equal(text(unwritten([a, b, c], 8)), '');
  assert.deepEqual(unwritten([a, b, c], 8), []);
});
