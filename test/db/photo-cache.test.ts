import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PhotoCache } from '../../src/daemon/db/photo-cache';
import type { Photo } from '../../src/protocol/types';

function photo(id: string): Photo {
  return { id } as Photo;
}

test('a hit returns the cached photo, frozen; a miss returns undefined', () => {
  const cache = new PhotoCache(2);
  cache.set(photo('a'));
  const hit = cache.get('a');
  assert.equal(hit?.id, 'a');
  assert.ok(Object.isFrozen(hit));
  assert.equal(cache.get('b'), undefined);
});

test('the cache never holds more than its capacity', () => {
  const cache = new PhotoCache(3);
  for (let i = 0; i < 50; i++) {
    cache.set(photo(`p${i}`));
    if (i % 2 === 0) cache.get(`p${i}`);
  }
  assert.equal(cache.size, 3);
});

test('a photo read since it was cached survives the eviction that takes an unread one', () => {
  const cache = new PhotoCache(3);
  for (const id of ['a', 'b', 'c']) cache.set(photo(id));
  // Everything starts flagged; one full round of evictions clears the flags.
  cache.set(photo('d'));
  assert.equal(cache.get('a'), undefined, 'with every entry flagged, the oldest goes after its second chance');
  cache.get('c');
  cache.set(photo('e'));
  assert.equal(cache.get('b'), undefined, 'b was not read after losing its flag: it goes');
  assert.equal(cache.get('c')?.id, 'c', 'c was read: it stays');
  assert.equal(cache.size, 3);
});

test('capacity 0 turns the cache off', () => {
  const cache = new PhotoCache(0);
  cache.set(photo('a'));
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.size, 0);
});

test('evict removes one photo and clear removes all', () => {
  const cache = new PhotoCache(4);
  for (const id of ['a', 'b', 'c']) cache.set(photo(id));
  cache.evict('b');
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a')?.id, 'a');
  cache.clear();
  assert.equal(cache.size, 0);
});

test('the cache never holds more bytes than its budget, whatever the count allows', () => {
  const cache = new PhotoCache(1000, 10_000);
  for (let i = 0; i < 500; i++) {
    cache.set(photo(`p${i}`), 30);
    cache.set(photo(`big${i}`), 39);
  }
  assert.ok(cache.bytes <= 10_000, `${cache.bytes} bytes`);
  assert.ok(cache.bytes > 10_000 - 39, 'it fills up to its budget');
  assert.ok(cache.size < 400, `${cache.size} photos`);
  cache.evict('p499');
  cache.evict('p499');
  const left = cache.bytes;
  cache.clear();
  assert.ok(left > 0);
  assert.equal(cache.bytes, 0);
});

test('a photo dearer than a 256th of the budget is not kept, and does not push others out', () => {
  const cache = new PhotoCache(100, 256 * 1000);
  cache.set(photo('small'), 1000);
  cache.set(photo('dear'), 1001);
  assert.equal(cache.get('dear'), undefined);
  assert.equal(cache.get('small')?.id, 'small');
  assert.equal(cache.bytes, 1000);
});

test('setting a photo again replaces its charge', () => {
  const cache = new PhotoCache(10, 100_000);
  cache.set(photo('a'), 300);
  cache.set(photo('a'), 100);
  assert.equal(cache.bytes, 100);
  assert.equal(cache.size, 1);
  // A photo that grew past what may be kept leaves the cache rather than keep its old entry.
  cache.set(photo('a'), 100_000);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.bytes, 0);
});
