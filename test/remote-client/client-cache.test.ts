// The client cache on its own, with an injected clock (no sleeps): TTLs, the
// LRU bound, URLs renewed before their margin, listings, invalidation.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ClientCache, resolveCacheConfig } from '../../src/sidecar-client/client-cache';
import type { PhotoWithUrl } from '../../src/protocol/types';

function clock() {
  let ms = 1_000_000;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

const photo = (id: string, urlLifeMs = 3600_000): PhotoWithUrl =>
  ({ id, s3_url: `http://x/${id}`, url_expires_at: new Date(Date.now() + urlLifeMs).toISOString() }) as PhotoWithUrl;

test('photos are served until their TTL, then asked for again', () => {
  const c = clock();
  const cache = new ClientCache({ ttl: 300, now: c.now });
  cache.setPhoto(photo('a'), cache.reading('a'));
  assert.equal(cache.photo('a')?.id, 'a');
  c.advance(299_000);
  assert.equal(cache.photo('a')?.id, 'a');
  c.advance(2_000);
  assert.equal(cache.photo('a'), undefined);
  assert.deepEqual({ ...cache.stats(), size: undefined, bytes: undefined }, { hits: 2, misses: 1, evictions: 0, size: undefined, bytes: undefined });
});

test('the LRU bound holds and counts evictions', () => {
  const cache = new ClientCache({ maxSize: 2, now: clock().now });
  for (const id of ['a', 'b']) cache.setPhoto(photo(id), cache.reading(id));
  cache.photo('a'); // a is now the most recent
  cache.setPhoto(photo('c'), cache.reading('c'));
  assert.equal(cache.photo('b'), undefined, 'the least recently used went');
  assert.ok(cache.photo('a'));
  assert.ok(cache.photo('c'));
  assert.equal(cache.stats().evictions, 1);
});

/** A photo carrying `processingBytes` of JSON in processing_metadata (an array of empty objects: the dearest shape to parse). */
function heavyPhoto(id: string, processingBytes: number): PhotoWithUrl {
  const processing = Array.from({ length: Math.floor(processingBytes / 3) }, () => ({}));
  return { ...photo(id), processing_metadata: processing } as PhotoWithUrl;
}

test('the cache is bounded in bytes too: heavy photos and listings are evicted long before the count bound', () => {
  const maxBytes = 1024 * 1024;
  const cache = new ClientCache({ maxSize: 1000, maxBytes, now: clock().now });
  // Each photo is charged ~28x its 4 KiB of processing JSON: about 115 KiB, so about 4 fit in the photos' half.
  for (let i = 0; i < 50; i++) cache.setPhoto(heavyPhoto(`h${i}`, 4096), cache.reading(`h${i}`));
  for (let i = 0; i < 50; i++) {
    const result = { photos: [heavyPhoto(`l${i}`, 2048), heavyPhoto(`m${i}`, 2048)], total: 2 };
    cache.setList('search', null, { query: `q${i}` }, result, cache.readingList());
  }
  const stats = cache.stats();
  assert.ok(stats.bytes <= maxBytes, `charged ${stats.bytes} bytes, bound ${maxBytes}`);
  assert.ok(stats.bytes > maxBytes / 2, `the cache is used (${stats.bytes} bytes)`);
  assert.ok(stats.size < 20, `${stats.size} entries held, not 100`);
  assert.ok(stats.evictions > 80, `${stats.evictions} evictions`);
  assert.ok(cache.photo('h49'), 'the most recent photo is there');
  assert.equal(cache.photo('h0'), undefined, 'the oldest went');
  assert.ok(cache.list('search', null, { query: 'q49' }), 'the most recent listing is there');
});

test("a photo dearer than its cache's share is answered but never cached", () => {
  const cache = new ClientCache({ maxBytes: 1024 * 1024, now: clock().now });
  cache.setPhoto(photo('small'), cache.reading('small'));
  // 64 KiB of processing JSON is charged ~1.8 MiB: more than the whole photo share.
  cache.setPhoto(heavyPhoto('huge', 64 * 1024), cache.reading('huge'));
  assert.equal(cache.photo('huge'), undefined);
  assert.ok(cache.photo('small'), 'what was cached stays');
  assert.ok(cache.stats().bytes < 1024 * 1024);
});

test('a URL is never handed out with less than the margin of its life left', () => {
  const c = clock();
  const cache = new ClientCache({ urlMarginSeconds: 60, now: c.now });
  cache.setUrl('a', 600, 'http://u', c.now(), cache.reading('a'));
  assert.equal(cache.url('a', 600), 'http://u');
  c.advance(539_000);
  assert.equal(cache.url('a', 600), 'http://u', '61 s left');
  c.advance(2_000);
  assert.equal(cache.url('a', 600), undefined, '59 s left: renewed, never returned');
  assert.equal(cache.url('a', 30), undefined, 'another expiry is another entry');
  // A cached photo whose URL is inside the margin is not served either.
  cache.setPhoto(photo('p', 30_000), cache.reading('p'));
  assert.equal(cache.photo('p'), undefined);
});

test('listings live for the short TTL, keyed by the normalised query; writes drop what they change', () => {
  const c = clock();
  const cache = new ClientCache({ listTtl: 5, now: c.now });
  cache.setList('search', null, { query: 'x', limit: 10 }, { n: 1 }, cache.readingList());
  assert.deepEqual(cache.list('search', null, { limit: 10, query: 'x' }), { n: 1 }, 'key order does not matter');
  c.advance(6_000);
  assert.equal(cache.list('search', null, { query: 'x', limit: 10 }), undefined);
  cache.setList('user', 'u1', {}, { n: 1 }, cache.readingList());
  cache.setList('user', 'u2', {}, { n: 2 }, cache.readingList());
  cache.stored('u1');
  assert.equal(cache.list('user', 'u1', {}), undefined, "a store drops that user's listings");
  assert.deepEqual(cache.list('user', 'u2', {}), { n: 2 });
  cache.setPhoto(photo('a'), cache.reading('a'));
  cache.setUrl('a', 600, 'http://u', c.now(), cache.reading('a'));
  cache.photoChanged('a');
  assert.equal(cache.photo('a'), undefined);
  assert.equal(cache.url('a', 600), undefined);
  assert.equal(cache.list('user', 'u2', {}), undefined, 'an update may change any listing');
});

test('an answer to a read sent before a write through this client is not cached', () => {
  const cache = new ClientCache({ now: clock().now });
  const read = cache.reading('a');
  const list = cache.readingList();
  const other = cache.reading('b');
  cache.photoChanged('a');
  const after = cache.reading('a');
  cache.setPhoto(photo('a'), read);
  assert.equal(cache.photo('a'), undefined, 'sent before the update: may hold the old photo');
  cache.setList('user', 'u1', {}, { n: 1 }, list);
  assert.equal(cache.list('user', 'u1', {}), undefined, 'an update may change any listing');
  cache.setPhoto(photo('b'), other);
  assert.ok(cache.photo('b'), 'another photo is not touched');
  cache.setPhoto(photo('a'), after);
  assert.ok(cache.photo('a'), 'sent after the update: cached');
  const search = cache.readingList();
  cache.stored('u9');
  cache.setList('search', null, {}, { n: 2 }, search);
  assert.equal(cache.list('search', null, {}), undefined, 'a store may change any search');
});

test('disabled, nothing is kept; the seed variables set the defaults; bad settings are refused', () => {
  const off = new ClientCache({ enabled: false });
  off.setPhoto(photo('a'), off.reading('a'));
  assert.equal(off.photo('a'), undefined);
  assert.equal(off.stats().size, 0);
  const saved = { ...process.env };
  try {
    Object.assign(process.env, { CACHE_ENABLED: 'false', CACHE_TTL: '10', CACHE_MAX_SIZE: '7', CACHE_MAX_BYTES: '1048576' });
    const r = resolveCacheConfig(undefined);
    assert.deepEqual([r.enabled, r.ttlMs, r.maxSize, r.maxBytes], [false, 10_000, 7, 1_048_576]);
    assert.equal(resolveCacheConfig({ enabled: true, ttl: 1 }).ttlMs, 1000, 'cacheConfig wins over the environment');
    process.env.CACHE_MAX_BYTES = 'lots';
    assert.throws(() => resolveCacheConfig(undefined), /CACHE_MAX_BYTES must be a non-negative number, got 'lots'/);
  } finally {
    for (const k of ['CACHE_ENABLED', 'CACHE_TTL', 'CACHE_MAX_SIZE', 'CACHE_MAX_BYTES']) if (saved[k] === undefined) delete process.env[k];
  }
  assert.equal(resolveCacheConfig(undefined).maxBytes, 32 * 1024 * 1024, 'the default');
  assert.throws(() => resolveCacheConfig({ maxSize: 0 }), RangeError);
  assert.throws(() => resolveCacheConfig({ maxBytes: 1000 }), /cacheConfig.maxBytes must be a number of at least 65536/);
  assert.throws(() => resolveCacheConfig({ ttl: -1 }), RangeError);
});

test('a full cache keeps no process alive', () => {
  const script = `
    const { ClientCache } = require(${JSON.stringify(require.resolve('../../src/sidecar-client/client-cache'))});
    const cache = new ClientCache({ ttl: 300, listTtl: 5 });
    for (let i = 0; i < 100; i++) {
      cache.setPhoto({ id: 'p' + i, url_expires_at: new Date(Date.now() + 3600e3).toISOString() }, cache.reading('p' + i));
      cache.setUrl('p' + i, 600, 'u', cache.now(), cache.reading('p' + i));
      cache.setList('search', null, { i }, {}, cache.readingList());
    }
    cache.photo('p1');
  `;
  const r = spawnSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(r.signal, null, 'the process ended on its own, no timer held it');
  assert.equal(r.status, 0, r.stderr);
});
