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
