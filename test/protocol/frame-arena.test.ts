import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameArena } from '../../src/protocol/frame-arena';

function overlaps(a: Buffer, b: Buffer): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

test('regions handed out while the socket still has bytes to write never overlap', () => {
  const socket = { writableLength: 1 };
  const arena = new FrameArena(socket);
  const regions: Buffer[] = [];
  // Enough to run through several blocks.
  for (let i = 0; i < 400; i++) regions.push(arena.take(1000 + (i % 7)));
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) assert.ok(!overlaps(regions[i]!, regions[j]!), `regions ${i} and ${j}`);
  }
});

test('once the socket has written everything, the block is used again from its start', () => {
  const socket = { writableLength: 1 };
  const arena = new FrameArena(socket);
  const first = arena.take(100);
  const second = arena.take(100);
  assert.ok(!overlaps(first, second));
  socket.writableLength = 0;
  const third = arena.take(100);
  assert.equal(third.buffer, first.buffer);
  assert.equal(third.byteOffset, first.byteOffset);
});

test('a large frame gets a buffer of its own', () => {
  const socket = { writableLength: 0 };
  const arena = new FrameArena(socket);
  const small = arena.take(10);
  const large = arena.take(1024 * 1024);
  assert.equal(large.length, 1024 * 1024);
  assert.notEqual(large.buffer, small.buffer);
});
