import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parseRange } from '../../src/daemon/blobs/signed-blob-handler';
import { BUCKETS } from '../../src/protocol/types';
import { openFsStore, type FsStoreFixture } from './fs-store-fixture';

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  assert.equal(res.headers.get('content-type'), 'application/json');
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe('signed blob URLs of the fs store', () => {
  let fx: FsStoreFixture;
  const key = '2026/11/4f1c2e.png';
  const body = randomBytes(4096);
  before(async () => {
    fx = await openFsStore();
    await fx.store.ensureBuckets(BUCKETS);
    await fx.store.put('images', key, { buffer: body }, body.length, 'image/png');
  });
  after(() => fx.close());

  it('serves the bytes with type, length and safety headers', async () => {
    const res = await fetch(await fx.store.presignedGetUrl('images', key, 60));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('content-length'), '4096');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
  });

  it('HEAD answers the headers without a body', async () => {
    const res = await fetch(await fx.store.presignedGetUrl('images', key, 60), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '4096');
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  it('refuses a tampered signature with 403', async () => {
    const url = new URL(await fx.store.presignedGetUrl('images', key, 60));
    const sig = url.searchParams.get('signature')!;
    url.searchParams.set('signature', `${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`);
    const res = await fetch(url);
    assert.equal(res.status, 403);
    assert.deepEqual(await errorOf(res), { code: 'FORBIDDEN', message: 'the URL signature is not valid' });
  });

  it('refuses a longer expiry than was signed with 403', async () => {
    const url = new URL(await fx.store.presignedGetUrl('images', key, 60));
    url.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    const res = await fetch(url);
    assert.equal(res.status, 403);
    assert.equal((await errorOf(res)).message, 'the URL signature is not valid');
  });

  it("refuses another object's signature with 403", async () => {
    await fx.store.put('images', '2026/11/other.png', { buffer: Buffer.from('o') }, 1, 'image/png');
    const url = new URL(await fx.store.presignedGetUrl('images', key, 60));
    url.pathname = '/blobs/images/2026/11/other.png';
    const res = await fetch(url);
    assert.equal(res.status, 403);
    await res.arrayBuffer();
  });

  it('refuses missing parameters with 403', async () => {
    const res = await fetch(`${fx.baseUrl}/blobs/images/${key}`);
    assert.equal(res.status, 403);
    await res.arrayBuffer();
  });

  it('refuses an expired URL with 403', async () => {
    const url = fx.signer.sign('images', key, 60, Date.now() - 120_000);
    const res = await fetch(url);
    assert.equal(res.status, 403);
    assert.deepEqual(await errorOf(res), { code: 'FORBIDDEN', message: 'this URL has expired' });
  });

  it('answers 404 for a path that is not an object name', async () => {
    const res = await fetch(`${fx.baseUrl}/blobs/images/%2e%2e/secret?expires=1&signature=00`);
    assert.equal(res.status, 404);
    assert.equal((await errorOf(res)).code, 'NOT_FOUND');
  });

  it('leaves other paths to the next handler', async () => {
    const res = await fetch(`${fx.baseUrl}/v1/photos`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'not a blob route');
  });

  it('refuses methods other than GET and HEAD', async () => {
    const res = await fetch(await fx.store.presignedGetUrl('images', key, 60), { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    await res.arrayBuffer();
  });

  it('serves single ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    const url = await fx.store.presignedGetUrl('images', key, 60);
    const cases: Array<[string, number, string | null, Buffer | null]> = [
      ['bytes=0-0', 206, 'bytes 0-0/4096', body.subarray(0, 1)],
      ['bytes=4095-', 206, 'bytes 4095-4095/4096', body.subarray(4095)],
      ['bytes=-10', 206, 'bytes 4086-4095/4096', body.subarray(4086)],
      ['bytes=4000-99999', 206, 'bytes 4000-4095/4096', body.subarray(4000)],
      ['bytes=4096-', 416, 'bytes */4096', null],
      ['bytes=0-1,5-6', 200, null, body],
    ];
    for (const [range, status, contentRange, expected] of cases) {
      const res = await fetch(url, { headers: { range } });
      assert.equal(res.status, status, range);
      assert.equal(res.headers.get('content-range'), contentRange, range);
      const got = Buffer.from(await res.arrayBuffer());
      if (expected !== null) assert.deepEqual(got, expected, range);
    }
  });
});

describe('parseRange', () => {
  const table: Array<[string | undefined, number, ReturnType<typeof parseRange>]> = [
    [undefined, 10, null],
    ['bytes=0-9', 10, { start: 0, end: 9 }],
    ['bytes=2-', 10, { start: 2, end: 9 }],
    ['bytes=-3', 10, { start: 7, end: 9 }],
    ['bytes=-30', 10, { start: 0, end: 9 }],
    ['bytes=5-100', 10, { start: 5, end: 9 }],
    ['bytes=10-', 10, 'unsatisfiable'],
    ['bytes=-0', 10, 'unsatisfiable'],
    ['bytes=0-0', 0, 'unsatisfiable'],
    ['bytes=5-2', 10, null],
    ['bytes=-', 10, null],
    ['items=0-1', 10, null],
    ['bytes=0-1,3-4', 10, null],
  ];
  for (const [header, size, expected] of table) {
    it(`${header} of ${size} bytes`, () => assert.deepEqual(parseRange(header, size), expected));
  }
});
