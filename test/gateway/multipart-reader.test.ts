import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MultipartReader, multipartBoundary } from '../../src/daemon/gateway/multipart-reader';

const LIMITS = { maxHeaderBytes: 1024, maxParts: 4, maxPreambleBytes: 1024 };
const BOUNDARY = '----formdata-undici-0123456789';

function form(parts: Array<{ name: string; filename?: string; type?: string; body: Buffer | string }>, boundary = BOUNDARY): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.type !== undefined) head += `Content-Type: ${part.type}\r\n`;
    pieces.push(Buffer.from(`${head}\r\n`), Buffer.from(part.body), Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

async function* inChunks(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const size = sizes[i++ % sizes.length]!;
    yield data.subarray(at, at + size);
    at += size;
  }
}

async function readAll(source: AsyncIterable<Uint8Array>) {
  const reader = new MultipartReader(source, BOUNDARY, LIMITS);
  const parts: Array<{ name: string; filename: string | undefined; contentType: string | undefined; body: Buffer }> = [];
  for (let part = await reader.nextPart(); part !== null; part = await reader.nextPart()) {
    const chunks: Buffer[] = [];
    for await (const chunk of reader.partBody()) chunks.push(chunk);
    parts.push({ ...part, body: Buffer.concat(chunks) });
  }
  return parts;
}

test('parts come out whole however the body is split into chunks', async () => {
  // Bytes that look like the start of a delimiter inside the file must survive.
  const file = Buffer.concat([randomBytes(300), Buffer.from(`\r\n--${BOUNDARY.slice(0, 10)}`), randomBytes(300)]);
  const body = form([
    { name: 'userId', body: 'user-1' },
    { name: 'file', filename: 'a b.png', type: 'image/png', body: file },
  ]);
  for (const sizes of [[1], [2], [3, 7], [17], [64], [body.length]]) {
    const parts = await readAll(inChunks(body, sizes));
    assert.equal(parts.length, 2, `chunks of ${sizes}`);
    assert.deepEqual(parts[0], { name: 'userId', filename: undefined, contentType: undefined, body: Buffer.from('user-1') });
    assert.equal(parts[1]!.filename, 'a b.png');
    assert.equal(parts[1]!.contentType, 'image/png');
    assert.ok(parts[1]!.body.equals(file), `file bytes differ with chunks of ${sizes}`);
  }
});

test('filename* (RFC 5987) wins over filename, and a preamble is skipped', async () => {
  const body = Buffer.concat([
    Buffer.from('a preamble nobody reads\r\n'),
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="photo"; filename="fallback.jpg"; filename*=UTF-8''%C3%A9t%C3%A9.jpg\r\n\r\nxyz\r\n--${BOUNDARY}--`),
  ]);
  const parts = await readAll(inChunks(body, [5]));
  assert.equal(parts[0]!.filename, 'été.jpg');
  assert.equal(parts[0]!.body.toString(), 'xyz');
});

test('malformed bodies and bodies over the limits are refused with a message', async () => {
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.from('no boundary here at all'), /no boundary line/],
    [Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated`), /ended inside a part/],
    [Buffer.from(`--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--`), /needs Content-Disposition: form-data/],
    [Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX-Big: ${'y'.repeat(2000)}\r\n\r\nx\r\n--${BOUNDARY}--`), /part headers longer than 1024 bytes/],
    [form(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: 'v' }))), /more than 4 parts/],
    [Buffer.concat([Buffer.alloc(5000, 'p'), form([{ name: 'a', body: 'b' }])]), /does not start with its boundary/],
  ];
  for (const [body, message] of cases) {
    await assert.rejects(readAll(inChunks(body, [100])), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'VALIDATION');
      assert.match(err.message, message);
      return true;
    });
  }
});

test('a text field past its limit is TOO_LARGE', async () => {
  const reader = new MultipartReader(inChunks(form([{ name: 'metadata', body: 'x'.repeat(100) }]), [10]), BOUNDARY, LIMITS);
  await reader.nextPart();
  await assert.rejects(reader.text('metadata', 50), { code: 'TOO_LARGE', message: "form field 'metadata' is longer than 50 bytes" });
});

test('the boundary comes from Content-Type, quoted or not', () => {
  assert.equal(multipartBoundary('multipart/form-data; boundary=abc'), 'abc');
  assert.equal(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b:c"'), 'a b:c');
  assert.throws(() => multipartBoundary('multipart/form-data'), /needs a boundary parameter/);
});
